"""The Leaderboard window and its charts."""

"""The Studies window: every study with its progress and spend."""

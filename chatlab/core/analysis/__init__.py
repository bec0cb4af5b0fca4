"""Analysis: the answer to the votes (ratings, intervals, exact tests, agreement) as a report."""

"""Spending caps: turns, a run's dollars, a session's dollars."""

"""Tests of core.tasks (background tasks)."""

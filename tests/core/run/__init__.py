"""Tests of core.run (mirrors harness_tui/core/run)."""

"""Tests of core (mirrors harness_tui/core)."""

"""Tests of tui (mirrors harness_tui/tui)."""

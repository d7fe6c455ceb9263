"""Tests of cli (mirrors harness_tui/cli)."""

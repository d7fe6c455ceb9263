"""Tests of core.sandbox (mirrors harness_tui/core/sandbox)."""

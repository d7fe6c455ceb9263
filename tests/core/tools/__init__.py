"""Tests of core.tools (mirrors harness_tui/core/tools)."""

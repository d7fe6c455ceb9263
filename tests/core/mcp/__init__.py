"""Tests of core.mcp (mirrors harness_tui/core/mcp)."""

"""Tests of core.hooks (mirrors harness_tui/core/hooks)."""

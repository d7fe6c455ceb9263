"""Tests of core.config (mirrors harness_tui/core/config)."""

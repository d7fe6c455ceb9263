"""Tests of core.extensions (mirrors harness_tui/core/extensions)."""

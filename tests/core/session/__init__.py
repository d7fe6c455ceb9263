"""Tests of core.session (mirrors harness_tui/core/session)."""

"""Tests of core.permissions (mirrors harness_tui/core/permissions)."""

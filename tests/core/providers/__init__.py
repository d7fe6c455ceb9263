"""Tests of core.providers (mirrors harness_tui/core/providers)."""

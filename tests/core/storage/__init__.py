"""Tests of core.storage (mirrors harness_tui/core/storage)."""

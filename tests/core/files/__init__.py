"""Tests of core.files (mirrors harness_tui/core/files)."""

"""Tests of web (mirrors harness_tui/web)."""

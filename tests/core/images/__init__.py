"""Tests of harness_tui.core.images."""

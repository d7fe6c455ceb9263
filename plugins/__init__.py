"""Bundled plugins, one folder each with a ``plugin.yaml``; shipped as
``harness_tui.plugins``."""

"""Textual widgets of harness-tui, one per module.

Shipped as ``harness_tui.widgets`` (see pyproject's package-dir). Widgets import only the
core's event and message types, never the session or providers.
"""

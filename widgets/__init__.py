"""Textual widgets of harness-tui, one per module; the modal screens in ``screens/``.

Shipped as ``harness_tui.widgets`` (see pyproject's package-dir). Widgets import Textual,
each other and the core's event and message types (the MCP completion types for typing
only), never the session or providers, and never what stands above them: the app
(``harness_tui.tui``), the command line or the web sidecar (tests/test_ui_layers.py).
"""

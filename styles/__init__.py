"""Textual stylesheets (``*.tcss``), shipped as package data of ``harness_tui.styles``.

Find them with ``importlib.resources.files("harness_tui.styles")``.
"""

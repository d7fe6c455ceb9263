"""The harness's version, for the core (which imports nothing from ``harness_tui``
outside ``harness_tui.core``). ``harness_tui/__init__.py`` writes it too, as the
literal the packaging reads without loading the core; a test keeps the two equal."""

__version__ = "0.1.0"

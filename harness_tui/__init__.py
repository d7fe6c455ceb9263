"""harness-tui: a terminal-first, multi-model coding-agent harness.

This module stays import-light: `harness-tui --version` must not load the core.
"""

#: The literal pyproject reads (``attr``); ``harness_tui.core.version`` holds the same
#: for the core, and ``tests/test_layers.py`` checks that they agree.
__version__ = "0.1.0"

"""harness-tui: a terminal-first, multi-model coding-agent harness.

This module stays import-light: `harness-tui --version` must not load the core.
"""

__version__ = "0.1.0"

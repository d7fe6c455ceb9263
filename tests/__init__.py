"""The tests, in folders that mirror the code: ``core/<folder>/`` for each folder of
``harness_tui/core``, ``tui/``, ``web/`` and ``cli/``; checks of the whole repository (lint,
types, layers, packaging, the README) at the top, beside the shared helpers and fakes."""

from pathlib import Path

#: The checkout's root folder and this folder, for tests in any sub-folder.
ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"

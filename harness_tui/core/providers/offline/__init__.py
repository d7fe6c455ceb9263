"""Models that need no network: ``demo`` (the offline demo model) and ``scripted``
(scripted replies, for tests, benchmarks and users' own scripts).
"""

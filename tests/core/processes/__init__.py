"""Tests of core.processes (mirrors harness_tui/core/processes)."""

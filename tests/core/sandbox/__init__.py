"""Tests of the Bash sandbox."""

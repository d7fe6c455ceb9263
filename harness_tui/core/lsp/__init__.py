"""Language servers (temporary: the lspkit branch brings the real package docstring)."""

"""Language servers: diagnostics after edits and code navigation for the model.

- ``servers``: the known servers (``known_servers.json``, data) and where their
  programs are looked for;
- ``entries``: one server entry as written (our settings, the table, Claude Code's
  ``.lsp.json``), checked field by field;
- ``plugin_servers``: the servers plugins declare (``plugin.yaml``'s ``lsp_servers``,
  Claude Code's ``.lsp.json`` and ``.claude-plugin/plugin.json``);
- ``config``: ``ServerSpec``, ``load_servers`` (which servers, one per language) and the
  ``lsp`` settings (``lsp_options``);
- ``client``: one running server, on pygls's ``LanguageClient``;
- ``manager``: starts servers lazily, restarts them, stops them with the session;
- ``diagnostics``: what goes back to the model after an edit.

pygls and lsprotocol are imported only when the first server starts.
"""

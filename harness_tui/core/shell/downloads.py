"""Commands that write files named by what they fetch or unpack, not (only) by their
arguments: downloads (``curl``, ``wget``), archives (``tar``, ``unzip``) and
compressors (``gzip``...). ``shell_writes`` checks what they write like any other
write; a name only known when the command runs (a tar's entries, a server's file name
with ``curl -OJ``) is unknown, so the engine asks.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from harness_tui.core.shell.commands import Options, parse_options, syntax

_CURL = syntax(
    "oDcdHXuAebFTxwmKrCEUYyzPQt",
    "output dump-header cookie-jar output-dir trace trace-ascii stderr libcurl data header "
    "request user user-agent referer cookie form upload-file proxy write-out max-time config",
)
_WGET = syntax(
    "OoaPeiBtTwQUlARIXD",
    "output-document output-file append-output directory-prefix execute input-file base "
    "tries timeout wait quota user-agent level accept reject include-directories "
    "exclude-directories domains",
)
_TAR = syntax("fCbgHKLNTVX", "file directory blocking-factor listed-incremental")
_UNZIP = syntax("dx")
_COMPRESSORS = {
    "gzip": ".gz",
    "gunzip": ".gz",
    "bzip2": ".bz2",
    "bunzip2": ".bz2",
    "xz": ".xz",
    "unxz": ".xz",
    "zstd": ".zst",
    "unzstd": ".zst",
}
DOWNLOADERS = frozenset({"curl", "wget", "tar", "unzip", *_COMPRESSORS})

Texts = list[str | None]


def fetched_files(name: str, argv: list[str | None]) -> Texts:
    """The files ``argv`` (a command named ``name`` in ``DOWNLOADERS``) writes, relative
    to its folder; None for one whose name is only known when it runs."""
    if name == "curl":
        return _curl(*parse_options(argv[1:], _CURL))
    if name == "wget":
        return _wget(*parse_options(argv[1:], _WGET))
    if name == "tar":
        return _tar(argv)
    if name == "unzip":
        _, options = parse_options(argv[1:], _UNZIP)
        listing = {n for n, _ in options} & {"l", "t", "v", "Z", "z", "p"}
        return [] if listing else [None]  # the archive's entries
    return _compressed(name, *parse_options(argv[1:], syntax("S", "suffix")))


def _values(options: Options, *names: str) -> Texts:
    return [value for name, value in options if name in names and value != "-"]


def _url_name(url: str | None, folder: str | None) -> str | None:
    """The file a download of ``url`` is saved as (its last path segment)."""
    if url is None or folder is None:
        return None
    name = os.path.basename(urlsplit(url).path) or "index.html"
    return os.path.join(folder, name)


def _curl(urls: Texts, options: Options) -> Texts:
    names = {name for name, _ in options}
    found = _values(options, "o", "output", "D", "dump-header", "c", "cookie-jar")
    found += _values(options, "trace", "trace-ascii", "stderr", "libcurl")
    if names & {"K", "config", "J", "remote-header-name"}:
        found.append(None)  # a config file's outputs, or a name the server picks
    if names & {"O", "remote-name", "remote-name-all"}:
        folders = _values(options, "output-dir") or ["."]
        found += [_url_name(url, folders[-1]) for url in urls]
    return found


def _wget(urls: Texts, options: Options) -> Texts:
    names = {name for name, _ in options}
    found = _values(options, "o", "output-file", "a", "append-output")
    documents = _values(options, "O", "output-document")
    if documents or any(n == "O" or n == "output-document" for n, _ in options):
        return found + documents
    many = {"r", "recursive", "m", "mirror", "i", "input-file", "e", "execute"}
    if names & (many | {"content-disposition", "trust-server-names"}):
        return [*found, None]
    folders = _values(options, "P", "directory-prefix") or ["."]
    return found + [_url_name(url, folders[-1]) for url in urls]


def _tar(argv: list[str | None]) -> Texts:
    """Extraction writes entries only known from the archive; creating one writes the
    archive (``-f``, or old-style ``tar czf FILE``)."""
    first = argv[1] if len(argv) > 1 else None
    bundled = first is not None and not first.startswith("-")
    operands, options = parse_options(argv[2:] if bundled else argv[1:], _TAR)
    names = {name for name, _ in options} | set(first if bundled and first else "")
    archives = _values(options, "f", "file")
    if bundled and first and "f" in first:
        archives.append(operands[0] if operands else None)
    if names & {"x", "extract", "get"}:
        return [None]
    if names & {"c", "create", "r", "append", "u", "update", "A", "catenate", "concatenate"}:
        return archives
    return []


def _compressed(name: str, files: Texts, options: Options) -> Texts:
    """A compressor replaces each file by one with its suffix added or removed."""
    names = {n for n, _ in options}
    if names & {"c", "stdout", "to-stdout", "l", "list", "t", "test"}:
        return []
    suffix = (_values(options, "S", "suffix") or [_COMPRESSORS[name]])[-1] or ""
    found: Texts = []
    for file in files:
        if file is None:
            found.append(None)
            continue
        found += [file, file + suffix, file.removesuffix(suffix)]
    return found

"""Bytes that git already keeps: a file whose working copy is exactly the blob its
repository's index names needs no second copy in the session's pack.

When the workspace is first walked, ``GitIndex.read`` lists the index of the
repository (``git ls-files -s``: each path's blob id); a file whose bytes hash to that
blob id (git's own SHA-1 of ``blob <size>\\0<bytes>``) is recorded by its SHA-256 as
usual, but its bytes are only *deferred*: ``Blobs`` fetches them from git
(``git cat-file --batch``) when a checkpoint first needs them — as soon as the file
changes, in the background, so that a later ``git gc`` cannot take them away. In a
repository of 10,000 clean files the first walk stores next to nothing. Without git, or
outside a repository, everything is copied as before.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger(__name__)

#: How long git may take to list its index or hand back blobs.
GIT_TIMEOUT_S = 30.0


def git_blob_id(data: bytes) -> str:
    """The id git gives ``data`` as a blob."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


class GitIndex:
    """The blob id of each file of a repository's index, by path relative to ``root``."""

    def __init__(self, root: Path, blobs: dict[str, str]) -> None:
        self.root = root
        self.blobs = blobs

    @classmethod
    def read(cls, root: Path) -> GitIndex | None:
        """The index of the repository ``root`` is in; None outside one, without git,
        or when git fails (then every file is simply copied)."""
        git = shutil.which("git")
        if git is None:
            return None
        try:
            done = subprocess.run(
                [git, "-C", str(root), "ls-files", "-s", "-z"],
                capture_output=True,
                timeout=GIT_TIMEOUT_S,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        if done.returncode != 0:
            return None
        blobs: dict[str, str] = {}
        for record in done.stdout.split(b"\0"):
            head, _, path = record.partition(b"\t")
            fields = head.split()
            if len(fields) == 3 and fields[2] == b"0" and fields[0] != b"160000":
                blobs[path.decode("utf-8", "surrogateescape")] = fields[1].decode()
        return cls(root, blobs) if blobs else None

    def fetch(self, ids: Iterable[str]) -> dict[str, bytes]:
        """The bytes of the blobs ``ids`` (those git still has)."""
        wanted = list(dict.fromkeys(ids))
        git = shutil.which("git")
        if not wanted or git is None:
            return {}
        try:
            done = subprocess.run(
                [git, "-C", str(self.root), "cat-file", "--batch"],
                input=b"".join(i.encode() + b"\n" for i in wanted),
                capture_output=True,
                timeout=GIT_TIMEOUT_S,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            log.warning("git cat-file failed", exc_info=True)
            return {}
        found: dict[str, bytes] = {}
        out, offset = done.stdout, 0
        for blob_id in wanted:
            end = out.find(b"\n", offset)
            if end < 0:
                break
            header = out[offset:end].split()
            offset = end + 1
            if len(header) != 3 or header[1] != b"blob":
                continue  # "<id> missing"
            size = int(header[2])
            found[blob_id] = out[offset : offset + size]
            offset += size + 1  # the bytes, then a newline
        return found

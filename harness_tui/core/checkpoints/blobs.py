"""The bytes of checkpointed files, kept once per session and named by their SHA-256.

On disk in the session's data folder (``<sessions>/<id>/checkpoints/pack``, beside
``<id>.jsonl``), never in the user's git history: one append-only file of records —
the SHA-256 (32 bytes), the length (4 bytes, big-endian) and the zlib-compressed bytes
(level 1: text shrinks three- to fourfold for little CPU). One file rather than one
per object, because creating ten thousand small files when a session first looks at a
large workspace costs seconds on some file systems and one sequential write costs
milliseconds. A record cut short by a crash is ignored when the pack is read back, and
every ``get`` checks the hash, so a damaged pack never restores wrong bytes. A session
that is not saved keeps them in memory. ``size`` counts the bytes taken, for the
session's storage bound; ``drop`` rewrites the pack without what is no longer needed.
"""

from __future__ import annotations

import hashlib
import os
import struct
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from harness_tui.core.checkpoints.gitobjects import GitIndex

_HEADER = struct.Struct(">32sI")
PACK_NAME = "pack"


class Blobs:
    """The checkpointed file contents of one session. ``folder`` None: in memory."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self._memory: dict[str, bytes] = {}
        #: Where each object's compressed bytes are in the pack: (offset, length).
        self._where: dict[str, tuple[int, int]] = {}
        self._end = 0  # where the next record goes
        self._writer: BinaryIO | None = None
        #: Bytes git keeps (see ``gitobjects``): SHA-256 -> git blob id, and the index
        #: to fetch them from.
        self._deferred: dict[str, str] = {}
        self.git: GitIndex | None = None
        if folder is not None:
            self._read_index()

    @property
    def pack(self) -> Path:
        assert self.folder is not None
        return self.folder / PACK_NAME

    def _read_index(self) -> None:
        try:
            file = open(self.pack, "rb")
        except OSError:
            return
        with file:
            offset = 0
            while True:
                head = file.read(_HEADER.size)
                if len(head) < _HEADER.size:
                    break
                raw, length = _HEADER.unpack(head)
                start = offset + _HEADER.size
                file.seek(length, os.SEEK_CUR)
                if (
                    file.tell() != start + length
                    or start + length > os.fstat(file.fileno()).st_size
                ):
                    break  # cut short by a crash: the rest is not trusted
                self._where[raw.hex()] = (start, length)
                offset = start + length
            self._end = offset

    @property
    def size(self) -> int:
        """Bytes taken (compressed)."""
        return self._end  # the pack's length, or the bytes held in memory

    def __contains__(self, digest: object) -> bool:
        return self._stored(digest) or digest in self._deferred

    def _stored(self, digest: object) -> bool:
        return digest in self._memory or digest in self._where

    def defer(self, digest: str, blob_id: str) -> None:
        """Git keeps these bytes as the blob ``blob_id``: fetch them when needed."""
        if not self._stored(digest):
            self._deferred[digest] = blob_id

    def deferred(self, digests: Iterable[str | None]) -> list[str]:
        """Those of ``digests`` that are still only in git."""
        return [d for d in digests if d is not None and d in self._deferred]

    def materialize(self, digests: Iterable[str]) -> None:
        """Copy deferred bytes from git into the pack (blocking: runs git). Those git
        no longer has are forgotten (``get`` then says they are gone)."""
        wanted = {d: self._deferred.pop(d) for d in set(digests) if d in self._deferred}
        if not wanted or self.git is None:
            return
        fetched = self.git.fetch(wanted.values())
        for digest, blob_id in wanted.items():
            data = fetched.get(blob_id)
            if data is not None and hashlib.sha256(data).hexdigest() == digest:
                self.put(data, digest)

    def put(self, data: bytes, digest: str | None = None) -> tuple[str, int]:
        """Keep ``data``: its SHA-256 and the bytes newly stored (0 when it was there
        already). Raises ``OSError`` when the folder cannot be written."""
        digest = digest or hashlib.sha256(data).hexdigest()
        self._deferred.pop(digest, None)
        if self._stored(digest):
            return digest, 0
        packed = zlib.compress(data, 1)
        if self.folder is None:
            self._memory[digest] = packed
            self._end += len(packed)
            return digest, len(packed)
        writer = self._open_writer()
        writer.write(_HEADER.pack(bytes.fromhex(digest), len(packed)) + packed)
        writer.flush()
        self._where[digest] = (self._end + _HEADER.size, len(packed))
        self._end += _HEADER.size + len(packed)
        return digest, len(packed) + _HEADER.size

    def _open_writer(self) -> BinaryIO:
        if self._writer is None:
            assert self.folder is not None
            self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._writer = open(self.pack, "ab")
            if self._writer.tell() != self._end:  # a torn record at the end: cut it off
                self._writer.truncate(self._end)
                self._writer.seek(self._end)
        return self._writer

    def get(self, digest: str) -> bytes | None:
        """The bytes kept under ``digest``; None when they are gone (pruned, deleted
        by hand) or damaged."""
        if digest in self._deferred:
            self.materialize([digest])
        try:
            if self.folder is None:
                packed = self._memory[digest]
            else:
                offset, length = self._where[digest]
                with open(self.pack, "rb") as file:
                    file.seek(offset)
                    packed = file.read(length)
            data = zlib.decompress(packed)
        except (KeyError, OSError, zlib.error):
            return None
        return data if hashlib.sha256(data).hexdigest() == digest else None

    def drop(self, keep: Iterable[str]) -> int:
        """Delete every object not in ``keep``; the bytes freed."""
        wanted = set(keep)
        self._deferred = {d: b for d, b in self._deferred.items() if d in wanted}
        before = self.size
        if self.folder is None:
            self._memory = {d: v for d, v in self._memory.items() if d in wanted}
            self._end = sum(map(len, self._memory.values()))
            return before - self.size
        kept = [(d, where) for d, where in self._where.items() if d in wanted]
        self.close()
        temp = self.pack.with_name(f".{PACK_NAME}-{os.getpid()}")
        self._where, self._end = {}, 0
        with open(self.pack, "rb") as source, open(temp, "wb") as file:
            for digest, (offset, length) in kept:  # copied as they are: no recompressing
                source.seek(offset)
                file.write(_HEADER.pack(bytes.fromhex(digest), length) + source.read(length))
                self._where[digest] = (self._end + _HEADER.size, length)
                self._end += _HEADER.size + length
        os.replace(temp, self.pack)
        return before - self.size

    def stored_size(self, digests: Iterable[str]) -> int:
        """Bytes the pack would take holding only ``digests`` (those it holds)."""
        if self.folder is None:
            return sum(len(self._memory[d]) for d in set(digests) if d in self._memory)
        return sum(self._where[d][1] + _HEADER.size for d in set(digests) if d in self._where)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

"""Fixtures of the durable service's tests: a real Postgres server (one per run)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.durable.postgres import PostgresServer, why_not


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    reason = why_not()
    if reason is not None:
        pytest.skip(f"NO POSTGRES: the cluster tests need a real PostgreSQL server: {reason}")
    # Not under pytest's temporary folder: as root, the server runs as `postgres`, who
    # may not enter pytest-of-root (0700).
    folder = Path(tempfile.mkdtemp(prefix="harness-pg-"))
    server = PostgresServer(folder / "cluster")
    try:
        server.start()
    except RuntimeError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.skip(f"NO POSTGRES: the server did not start: {exc}")
    yield server
    server.stop()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def database(postgres: PostgresServer, request: pytest.FixtureRequest) -> str:
    """A fresh database of its own for one test (``postgresql://`` URL)."""
    import psycopg

    name = "t_" + "".join(c if c.isalnum() else "_" for c in request.node.name.lower())[:50]
    with psycopg.connect(postgres.url, autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        c.execute(f'CREATE DATABASE "{name}"')
    return postgres.url.rsplit("/", 1)[0] + "/" + name

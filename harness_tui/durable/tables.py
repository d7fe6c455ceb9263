"""The service's own tables, beside DBOS's in the same database.

- ``harness_sessions``: one row per session of the service: the options it was made
  with (model, mode, folder), the run it has queued or running (``workflow_id``), and
  ``last_n``, the number of its file's lines stored so far (what the tailing processes
  poll: one query tells which sessions grew).
- ``harness_lines``: each session's file, line by line, exactly as ``SessionLog`` writes
  it (header, events with their ``seq``, conversation entries). A worker materialises
  it as a local session file to open the session; every process reads the events back
  to feed its browsers. Line ``n`` is written once (primary key): one worker at a time.
- ``harness_inbox``: what must reach a run inside a step, where DBOS messages cannot be
  received (a permission answer while the tool call waits, a cancel): written by any
  process, taken by the one that runs the session.
- ``harness_meta``: the service's token (the same on every process).

Everything here is plain SQLAlchemy Core, synchronous: callers run it in a worker
thread (``anyio.to_thread``). SQLite (one process) or Postgres (a cluster).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

metadata = sa.MetaData()

sessions = sa.Table(
    "harness_sessions",
    metadata,
    sa.Column("session_id", sa.String(80), primary_key=True),
    sa.Column("created", sa.Float, nullable=False),
    sa.Column("options", sa.Text, nullable=False),
    sa.Column("workflow_id", sa.String(200), nullable=True),
    sa.Column("run_id", sa.String(80), nullable=True),
    sa.Column("last_n", sa.Integer, nullable=False, default=0),
    sa.Column("closed", sa.Boolean, nullable=False, default=False),
)

lines = sa.Table(
    "harness_lines",
    metadata,
    sa.Column("session_id", sa.String(80), primary_key=True),
    sa.Column("n", sa.Integer, primary_key=True),
    sa.Column("data", sa.LargeBinary, nullable=False),
)

inbox = sa.Table(
    "harness_inbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("session_id", sa.String(80), nullable=False, index=True),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created", sa.Float, nullable=False),
)

meta = sa.Table(
    "harness_meta",
    metadata,
    sa.Column("key", sa.String(80), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)


def engine_url(url: str) -> str:
    """The SQLAlchemy URL for a user's database URL (psycopg 3 for Postgres)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@dataclass(frozen=True, slots=True)
class SessionRow:
    session_id: str
    created: float
    options: dict[str, Any]
    workflow_id: str | None
    run_id: str | None
    last_n: int
    closed: bool


class Tables:
    """The tables in one database (``url``: ``sqlite:///path`` or ``postgresql://``)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sqlite = url.startswith("sqlite")
        options: dict[str, Any] = {"future": True}
        if self.sqlite:
            options["connect_args"] = {"check_same_thread": False, "timeout": 30}
        else:
            options.update(pool_size=8, max_overflow=8, pool_pre_ping=True)
        self.engine = sa.create_engine(engine_url(url), **options)
        if self.sqlite:
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        self._create_lock = threading.Lock()

    def create(self) -> None:
        with self._create_lock:
            metadata.create_all(self.engine, checkfirst=True)

    def dispose(self) -> None:
        self.engine.dispose()

    # --- the service's token ------------------------------------------------------

    def service_token(self) -> str:
        """The token every process of the service accepts (made by the first one)."""
        with self.engine.begin() as c:
            found = c.execute(sa.select(meta.c.value).where(meta.c.key == "token")).scalar()
            if found:
                return str(found)
        token = secrets.token_urlsafe(32)
        try:
            with self.engine.begin() as c:
                c.execute(meta.insert().values(key="token", value=token))
        except sa.exc.IntegrityError:  # another process made it first
            with self.engine.begin() as c:
                return str(c.execute(sa.select(meta.c.value).where(meta.c.key == "token")).scalar())
        return token

    # --- sessions -----------------------------------------------------------------

    def add_session(self, session_id: str, options: dict[str, Any]) -> None:
        with self.engine.begin() as c:
            c.execute(
                sessions.insert().values(
                    session_id=session_id,
                    created=time.time(),
                    options=json.dumps(options),
                    last_n=0,
                    closed=False,
                )
            )

    def session_rows(self, *, include_closed: bool = False) -> list[SessionRow]:
        query = sa.select(sessions).order_by(sessions.c.created)
        if not include_closed:
            query = query.where(sessions.c.closed.is_(False))
        with self.engine.connect() as c:
            return [_row(r) for r in c.execute(query)]

    def session_row(self, session_id: str) -> SessionRow | None:
        with self.engine.connect() as c:
            found = c.execute(sa.select(sessions).where(sessions.c.session_id == session_id))
            row = found.first()
        return _row(row) if row is not None else None

    def claim_run(self, session_id: str, workflow_id: str, run_id: str) -> bool:
        """Mark the session busy with this run; False when it has one already."""
        with self.engine.begin() as c:
            done = c.execute(
                sessions.update()
                .where(sessions.c.session_id == session_id, sessions.c.workflow_id.is_(None))
                .values(workflow_id=workflow_id, run_id=run_id)
            )
            return done.rowcount == 1

    def release_run(self, session_id: str, workflow_id: str) -> None:
        with self.engine.begin() as c:
            c.execute(
                sessions.update()
                .where(sessions.c.session_id == session_id, sessions.c.workflow_id == workflow_id)
                .values(workflow_id=None, run_id=None)
            )

    def close_session(self, session_id: str) -> None:
        with self.engine.begin() as c:
            c.execute(
                sessions.update().where(sessions.c.session_id == session_id).values(closed=True)
            )

    # --- lines --------------------------------------------------------------------

    def line_count(self, session_id: str) -> int:
        with self.engine.connect() as c:
            found = c.execute(
                sa.select(sa.func.max(lines.c.n)).where(lines.c.session_id == session_id)
            ).scalar()
        return int(found or 0)

    def read_lines(self, session_id: str, after: int = 0, upto: int | None = None) -> list[bytes]:
        """Lines ``after < n <= upto`` (all after ``after`` when ``upto`` is None)."""
        query = (
            sa.select(lines.c.data)
            .where(lines.c.session_id == session_id, lines.c.n > after)
            .order_by(lines.c.n)
        )
        if upto is not None:
            query = query.where(lines.c.n <= upto)
        with self.engine.connect() as c:
            return [bytes(r[0]) for r in c.execute(query)]

    def append_lines(self, session_id: str, first_n: int, data: list[bytes]) -> None:
        """Store lines ``first_n, first_n + 1, ...``; raises ``IntegrityError`` when one
        of them is taken (another execution writes this session: a bug)."""
        if not data:
            return
        rows = [
            {"session_id": session_id, "n": first_n + i, "data": line}
            for i, line in enumerate(data)
        ]
        with self.engine.begin() as c:
            c.execute(lines.insert(), rows)
            c.execute(
                sessions.update()
                .where(sessions.c.session_id == session_id)
                .values(last_n=first_n + len(data) - 1)
            )

    def growth(self) -> dict[str, tuple[int, str | None, str | None]]:
        """Each open session's line count and active run (workflow, run id)."""
        query = sa.select(
            sessions.c.session_id, sessions.c.last_n, sessions.c.workflow_id, sessions.c.run_id
        ).where(sessions.c.closed.is_(False))
        with self.engine.connect() as c:
            return {r[0]: (int(r[1]), r[2], r[3]) for r in c.execute(query)}

    # --- inbox --------------------------------------------------------------------

    def post(self, session_id: str, kind: str, body: dict[str, Any]) -> None:
        with self.engine.begin() as c:
            c.execute(
                inbox.insert().values(
                    session_id=session_id, kind=kind, body=json.dumps(body), created=time.time()
                )
            )

    def take(self, session_id: str) -> list[tuple[str, dict[str, Any]]]:
        """The session's inbox, removed as it is read (oldest first)."""
        with self.engine.begin() as c:
            found = list(
                c.execute(
                    sa.select(inbox.c.id, inbox.c.kind, inbox.c.body)
                    .where(inbox.c.session_id == session_id)
                    .order_by(inbox.c.id)
                )
            )
            if found:
                c.execute(inbox.delete().where(inbox.c.id.in_([r[0] for r in found])))
        return [(r[1], json.loads(r[2])) for r in found]


def _row(r: Any) -> SessionRow:
    return SessionRow(
        session_id=r.session_id,
        created=r.created,
        options=json.loads(r.options),
        workflow_id=r.workflow_id,
        run_id=r.run_id,
        last_n=int(r.last_n or 0),
        closed=bool(r.closed),
    )


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()

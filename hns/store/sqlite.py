"""The state store: one SQLite row per HNS object, one transaction per operation.

Design:
    The service keeps every object in memory (plain dicts keyed by upper-case id) and
    builds its indexes from them; SQLite is the durable copy.  An operation first
    validates and plans (no side effects), then hands the store the rows it changes:
    ``commit(puts, deletes)`` writes them in ONE transaction; only after that commits are
    the in-memory maps updated.  A failed write leaves both copies as they were.
    ``:memory:`` keeps the same code path with an in-memory database.

Table ``objects(kind, id, body)``: kind is network / endpoint / loadbalancer / namespace /
route; body is the stored JSON.  Table ``meta(key, value)`` holds small counters.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from typing import Any

from hns.errors import ServiceNotStarted
from hns.textcheck import has_surrogate_escape, refuse_unencodable, scrub

Json = dict[str, Any]

KINDS = ("network", "endpoint", "loadbalancer", "namespace", "route")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    kind TEXT NOT NULL,
    id   TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def _private(path: str, *, create: bool) -> None:
    """Owner-only (0600): the state holds every object's addresses and policies, and
    SQLite gives -wal/-shm the main file's mode, so it is set before SQLite opens it."""
    with contextlib.suppress(OSError):  # not ours to change, or a special file
        if create and not os.path.exists(path):
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        if os.path.isfile(path):
            os.chmod(path, 0o600)


def _row_text(obj: Json) -> str:
    """The stored JSON of ``obj``: refused (E_INVALIDARG) before any write if a string in
    it cannot be written as UTF-8, so nothing unreadable is ever committed."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        refuse_unencodable(obj, "object")
        raise  # pragma: no cover - refuse_unencodable raised already
    return text


class Store:
    """SQLite persistence for HNS objects (callers serialise access with their own lock)."""

    def __init__(self, path: str | os.PathLike[str] = ":memory:") -> None:
        self.path = os.fspath(path)
        try:
            if self.path != ":memory:":
                _private(self.path, create=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False,
                                       isolation_level=None)
            if self.path != ":memory:":
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            if self.path != ":memory:":
                for suffix in ("", "-wal", "-shm"):
                    _private(self.path + suffix, create=False)
        except sqlite3.Error as exc:
            raise ServiceNotStarted(detail=f"cannot open state {self.path!r}: {exc}") from None
        self._lock = threading.Lock()

    def load_all(self) -> Iterator[tuple[str, Json]]:
        for kind, body in self._db.execute("SELECT kind, body FROM objects ORDER BY rowid"):
            obj = json.loads(body)
            if has_surrogate_escape(body):
                obj = scrub(obj)  # an older file may hold a lone surrogate: repair it
            yield kind, obj

    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def commit(self, puts: Iterable[tuple[str, Json]] = (),
               deletes: Iterable[tuple[str, str]] = (),
               meta: Iterable[tuple[str, str]] = (), *, replace_all: bool = False) -> None:
        """Write ``puts`` (kind, object), ``deletes`` (kind, id) and ``meta`` atomically;
        with ``replace_all`` every existing row goes first, in the same transaction."""
        rows = [(kind, obj["ID"].upper(), _row_text(obj)) for kind, obj in puts]
        gone = [(kind, ident.upper()) for kind, ident in deletes]
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                if replace_all:
                    self._db.execute("DELETE FROM objects")
                    self._db.execute("DELETE FROM meta")
                if gone:
                    self._db.executemany("DELETE FROM objects WHERE kind = ? AND id = ?", gone)
                if rows:
                    self._db.executemany(
                        "INSERT OR REPLACE INTO objects (kind, id, body) VALUES (?, ?, ?)", rows)
                for key, value in meta:
                    self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                                     (key, value))
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise ServiceNotStarted(detail=f"state write failed: {exc}") from None

    def clear(self) -> None:
        self.commit(replace_all=True)

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._db.close()

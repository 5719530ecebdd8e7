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


class Store:
    """SQLite persistence for HNS objects (callers serialise access with their own lock)."""

    def __init__(self, path: str | os.PathLike[str] = ":memory:") -> None:
        self.path = os.fspath(path)
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False,
                                       isolation_level=None)
            if self.path != ":memory:":
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise ServiceNotStarted(detail=f"cannot open state {self.path!r}: {exc}") from None
        self._lock = threading.Lock()

    def load_all(self) -> Iterator[tuple[str, Json]]:
        for kind, body in self._db.execute("SELECT kind, body FROM objects ORDER BY rowid"):
            yield kind, json.loads(body)

    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def commit(self, puts: Iterable[tuple[str, Json]] = (),
               deletes: Iterable[tuple[str, str]] = (),
               meta: Iterable[tuple[str, str]] = (), *, replace_all: bool = False) -> None:
        """Write ``puts`` (kind, object), ``deletes`` (kind, id) and ``meta`` atomically;
        with ``replace_all`` every existing row goes first, in the same transaction."""
        rows = [(kind, obj["ID"].upper(), json.dumps(obj, separators=(",", ":")))
                for kind, obj in puts]
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

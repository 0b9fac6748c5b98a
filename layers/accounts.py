"""Users, sessions, login throttles and keys: kept apart from the data they guard.

A GeoPackage workspace ``city.gpkg`` keeps them in the sibling file ``city.users.sqlite``
(readable by its owner only), so the ``.gpkg`` a planner hands to a colleague or opens in
QGIS holds no password hash, session or key. A PostGIS workspace keeps them in a schema of
their own (:mod:`layers.postgis`). Records are small keyed rows written in place, each in
one SQLite transaction.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

#: table → (key field, fields)
TABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "users": ("username", ("username", "role", "area", "password_hash", "disabled", "created_at",
                           "failed_logins", "locked_until", "display_name")),
    "sessions": ("token_hash", ("token_hash", "username", "created_at", "expires_at")),
    "throttle": ("key", ("key", "failures", "locked_until", "updated_at")),
    "secrets": ("name", ("name", "value", "created_at")),
    #: a user's what-if session as data (the workspace versions it started from and the cameras
    #: dropped, moved and removed, in order), so that any server process can continue it
    "whatif": ("key", ("key", "username", "state", "revision", "updated_at")),
}


def table(name: str) -> tuple[str, tuple[str, ...]]:
    """The key field and the fields of the internal table ``name`` (users, sessions, keys, what-if)."""
    if name not in TABLES:
        raise ValueError(f"no internal table '{name}': there are {', '.join(TABLES)}")
    return TABLES[name]


def sibling(workspace: Path) -> Path:
    """Where a GeoPackage workspace's accounts live: ``city.gpkg`` → ``city.users.sqlite``."""
    return workspace.with_name(f"{workspace.stem}.users.sqlite")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


_MADE = threading.Lock()


class Accounts:
    """The record tables in one SQLite file (created on first write, owner-only permissions)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._local = threading.local()

    def _connection(self) -> sqlite3.Connection:
        """This thread's connection (reopened when the file was replaced or removed and made anew)."""
        ino = os.stat(self.path).st_ino
        con = getattr(self._local, "con", None)
        if con is None or self._local.ino != ino:
            if con is not None:
                con.close()
            con = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=True)
            con.execute("PRAGMA journal_mode = WAL")
            con.execute("PRAGMA synchronous = FULL")
            self._local.con, self._local.ino, self._local.made = con, ino, False
        return con

    def close(self) -> None:
        """Close this thread's connection to the accounts file."""
        con = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local.con = None

    @contextlib.contextmanager
    def _con(self, *, write: bool) -> Iterator[sqlite3.Connection | None]:
        if not write and not self.path.exists():
            yield None
            return
        if write and not self.path.exists():
            with _MADE:  # made owner-only before SQLite opens it (no connection to it exists yet)
                if not self.path.exists():
                    fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
                    os.close(fd)
        con = self._connection()
        con.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            if write and not self._local.made:
                for name, (key, fields) in TABLES.items():
                    cols = ", ".join(f"{_q(f)} TEXT" + (" PRIMARY KEY" if f == key else "") for f in fields)
                    con.execute(f"CREATE TABLE IF NOT EXISTS {_q(name)} ({cols})")
            yield con
            con.execute("COMMIT")
            if write:
                self._local.made = True
        except BaseException:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise

    def records(self, name: str) -> list[dict[str, Any]]:
        """Every record of table ``name``, as dicts of text values (none when the file or table is new)."""
        _, fields = table(name)
        with self._con(write=False) as con:
            if con is None or con.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (name,)).fetchone() is None:
                return []
            cur = con.execute(f"SELECT {', '.join(_q(f) for f in fields)} FROM {_q(name)}")
            return [dict(zip(fields, row, strict=True)) for row in cur.fetchall()]

    def record(self, name: str, value: Any) -> dict[str, Any] | None:
        """The record whose key is ``value`` (by the primary key), None if there is none."""
        tkey, fields = table(name)
        with self._con(write=False) as con:
            if con is None or con.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (name,)).fetchone() is None:
                return None
            row = con.execute(f"SELECT {', '.join(_q(f) for f in fields)} FROM {_q(name)} WHERE {_q(tkey)} = ?",
                              (str(value),)).fetchone()
            return None if row is None else dict(zip(fields, row, strict=True))

    def put(self, name: str, key: str, record: Mapping[str, Any], *,
            expect: Mapping[str, Any] | None = None, absent: bool = False) -> bool:
        """Insert or replace one record (keyed by the table's key field).

        With ``expect``, only if the stored record still has those values; with ``absent``, only if
        there is none. Returns whether it was written."""
        tkey, fields = table(name)
        if key != tkey:
            raise ValueError(f"table '{name}' is keyed by '{tkey}', not '{key}'")
        values = {f: (None if record.get(f) is None else str(record[f])) for f in fields}
        with self._con(write=True) as con:
            assert con is not None
            if absent and con.execute(f"SELECT 1 FROM {_q(name)} WHERE {_q(tkey)} = ?",
                                      (values[tkey],)).fetchone() is not None:
                return False
            if expect is not None:
                row = con.execute(f"SELECT * FROM {_q(name)} WHERE {_q(tkey)} = ?", (values[tkey],)).fetchone()
                current = dict(zip(fields, row, strict=True)) if row else None
                if current is None or any(current.get(k) != (None if v is None else str(v))
                                          for k, v in expect.items()):
                    return False
            con.execute(f"INSERT OR REPLACE INTO {_q(name)} ({', '.join(_q(f) for f in fields)}) "
                        f"VALUES ({', '.join('?' for _ in fields)})", [values[f] for f in fields])
        return True

    def put_many(self, name: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert or replace several records of table ``name``."""
        tkey, _ = table(name)
        for row in rows:
            self.put(name, tkey, row)

    def delete(self, name: str, key: str, values: Sequence[Any]) -> int:
        """Delete the records whose ``key`` field has one of ``values``; returns how many went."""
        _, fields = table(name)
        if key not in fields:
            raise ValueError(f"table '{name}' has no field '{key}'")
        with self._con(write=True) as con:
            assert con is not None
            return sum(con.execute(f"DELETE FROM {_q(name)} WHERE {_q(key)} = ?", (str(v),)).rowcount
                       for v in values)

"""Background jobs with progress, in a durable queue that every server process on a workspace shares.

Long runs (placement, large exports) answer at once and are polled. They go through huey, a
maintained task queue, kept in the workspace's own kind of database: for a GeoPackage
``city.gpkg`` huey's SQLite storage in the sibling file ``city.jobs.sqlite``; for PostGIS
huey's SQL storage (peewee) in the schema ``<workspace>__jobs`` of the same database. So:

- a restart keeps queued and finished jobs, and a queued job is run by whichever server
  process on the workspace is free;
- two server processes behind one proxy see the same jobs and their progress, which is
  stored as it is made;
- a job that was running when its process died is reported failed, with the reason, once
  its heartbeat (every few seconds while it runs) has stopped for :data:`STALE_S`.

A job is the data to run it again: its kind, its parameters and its owner (name, role and
area as they were when it was started). A job is its starter's alone (the area policy's
rule, :meth:`api.access.Scope.owns`): anyone else, administrators included, is told there is
no such job. Each process runs at most ``workers`` jobs at a time, in threads that start
with its first job (or with jobs found waiting) and stop after a minute with nothing to do.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import os
import secrets
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel

from api.access import ROLES, Area, Scope, User
from layers.errors import UnknownLayerError
from layers.store import Store, now_iso

log = logging.getLogger(__name__)

#: a running job whose heartbeat is older than this is taken for dead (PINGAN_JOB_STALE_S to change)
STALE_S = float(os.environ.get("PINGAN_JOB_STALE_S", "60"))
HEARTBEAT_S = 5.0
IDLE_S = 60.0
#: finished export files older than this are removed when the next job starts
KEEP_FILES_S = 24 * 3600.0


class Job(BaseModel):
    id: str
    status: str  # queued, running, done, failed
    user: str
    created_at: str
    progress: list[str]
    #: how far the running step is, when it is counted: {"step", "done", "total"}
    counts: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    error: str | None = None


@dataclasses.dataclass
class Context:
    """What a job's work gets: the workspace, its owner, the server's settings, a folder for files."""

    store: Store
    user: User
    settings: Any
    files: Path


#: kind → work(context, params, progress) → result; registered by the routers that start jobs
KINDS: dict[str, Callable[[Context, dict[str, Any], Callable[[str], None]], dict[str, Any]]] = {}


def kind(name: str) -> Callable[[Callable[..., dict[str, Any]]], Callable[..., dict[str, Any]]]:
    def register(fn: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
        KINDS[name] = fn
        return fn
    return register


def _huey_for(store: Store) -> Any:
    """The workspace's huey: SQLite beside a GeoPackage, SQL storage in a schema of a PostGIS database."""
    path = getattr(store, "path", None)
    if path is not None:
        from huey import SqliteHuey

        return SqliteHuey(name="pingan", filename=str(Path(path).with_name(f"{Path(path).stem}.jobs.sqlite")),
                          utc=True)

    import psycopg
    from huey.contrib.sql_huey import SqlHuey
    from peewee import PostgresqlDatabase

    schema = f"{store.schema}__jobs"  # type: ignore[attr-defined]
    with psycopg.connect(store.dsn, autocommit=True) as con:  # type: ignore[attr-defined]
        con.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    parts = urlsplit(store.dsn)  # type: ignore[attr-defined]
    db = PostgresqlDatabase(parts.path.lstrip("/"), user=parts.username, password=parts.password,
                            host=parts.hostname, port=parts.port or 5432, options=f"-c search_path={schema}")
    return SqlHuey(name="pingan", database=db, utc=True)


def _files_dir(store: Store) -> Path:
    path = getattr(store, "path", None)
    if path is not None:
        return Path(path).with_name(f".{Path(path).stem}.jobs")
    return Path(tempfile.gettempdir()) / f"pingan-jobs-{getattr(store, 'schema', 'workspace')}"


class JobQueue:
    """The jobs of one workspace, as one server process sees and runs them."""

    def __init__(self, store: Store, settings: Any = None, workers: int = 1) -> None:
        self.store, self.settings, self.workers = store, settings, workers
        self.huey = _huey_for(store)
        self.files = _files_dir(store)
        self._run = self.huey.task(name="pingan_job")(self._execute)
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        if self.huey.pending_count():
            self._start_workers()  # jobs waiting from before a restart, or from a process that went away

    # ---- the record -----------------------------------------------------------------------
    def _load(self, job_id: str) -> dict[str, Any] | None:
        record = self.huey.get(f"job:{job_id}", peek=True)
        return dict(record) if record else None

    def _save(self, job: dict[str, Any]) -> None:
        self.huey.put(f"job:{job['id']}", dict(job))

    def submit(self, kind_name: str, user: User, params: dict[str, Any]) -> dict[str, Any]:
        """Queue a job of ``kind_name`` with ``params`` (plain data) for ``user``; returns its record."""
        if kind_name not in KINDS:
            raise ValueError(f"no job kind '{kind_name}': there are {', '.join(sorted(KINDS))}")
        self._clear_old_files()
        job: dict[str, Any] = {"id": secrets.token_hex(8), "kind": kind_name, "status": "queued",
                               "user": user.username,
               "owner": {"username": user.username, "role": user.role.name, "area": user.area.to_json(),
                         "display_name": user.display_name},
               "params": params, "created_at": now_iso(), "progress": [], "counts": None, "result": None,
               "error": None,
               "heartbeat": None, "runner": None}
        self._save(job)
        self._run(job["id"])
        self._start_workers()
        return job

    def get(self, job_id: str, scope: Scope, what: str = "") -> dict[str, Any]:
        job = self._load(job_id)
        if job is None or not scope.owns(job):
            raise UnknownLayerError(f"no {what + ' ' if what else ''}job '{job_id}' of yours")
        if what and job.get("kind") != what:
            raise UnknownLayerError(f"no {what} job '{job_id}' of yours")
        if job["status"] == "running" and _age(job.get("heartbeat")) > STALE_S:
            job |= {"status": "failed", "error": f"the server running this job stopped (last seen "
                                                 f"{job['heartbeat']} on {job.get('runner')}): start it again"}
            self._save(job)
        return job

    # ---- running ----------------------------------------------------------------------------
    def _start_workers(self) -> None:
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            while len(self._threads) < self.workers:
                thread = threading.Thread(target=self._work, name=f"pingan-jobs-{len(self._threads)}", daemon=True)
                thread.start()
                self._threads.append(thread)

    def _work(self) -> None:
        idle_since = time.monotonic()
        while not self._stop.is_set():
            try:
                task = self.huey.dequeue()
            except Exception:  # the database went away for a moment (or for good): try again, then give up
                if time.monotonic() - idle_since > IDLE_S:
                    return
                self._stop.wait(1.0)
                continue
            if task is None:
                if time.monotonic() - idle_since > IDLE_S:
                    return
                self._stop.wait(0.2)
                continue
            self.huey.execute(task)
            idle_since = time.monotonic()

    def stop(self) -> None:
        self._stop.set()

    def _execute(self, job_id: str) -> None:
        job = self._load(job_id)
        if job is None or job["status"] != "queued":
            return
        runner = f"{socket.gethostname()}:{os.getpid()}"
        job |= {"status": "running", "heartbeat": now_iso(), "runner": runner}
        self._save(job)
        lock = threading.Lock()
        beating = threading.Event()

        def beat() -> None:
            while not beating.wait(HEARTBEAT_S):
                with lock:
                    job["heartbeat"] = now_iso()
                    self._save(job)

        saved = [0.0]

        def progress(text: str, done: int | None = None, total: int | None = None, /) -> None:
            # a new step is appended to the list; a counted one's count is kept in "counts" (saved at
            # most once a second: a count may tick thousands of times)
            with lock:
                if not job["progress"] or job["progress"][-1] != str(text):
                    job["progress"] = [*job["progress"], str(text)]
                elif done is None or (time.monotonic() - saved[0] < 1.0 and done != total):
                    return
                job["counts"] = None if done is None else {"step": str(text), "done": done, "total": total}
                job["heartbeat"] = now_iso()
                self._save(job)
                saved[0] = time.monotonic()

        heart = threading.Thread(target=beat, daemon=True)
        heart.start()
        try:
            owner = job["owner"]
            user = User(owner["username"], ROLES[owner["role"]], Area.from_json(owner["area"]),
                        owner.get("display_name") or "")
            folder = self.files / job_id
            context = Context(self.store, user, self.settings, folder)
            result = KINDS[job["kind"]](context, job["params"], progress)
            outcome = {"status": "done", "result": result}
            log.info("job %s (%s, %s) done", job_id, job["kind"], owner["username"])
        except Exception as exc:  # the job reports it; the service goes on
            outcome = {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}
            log.warning("job %s (%s) failed: %s: %s", job_id, job["kind"], type(exc).__name__, exc)
        finally:
            beating.set()
            heart.join()
        with lock:
            job |= outcome | {"heartbeat": now_iso()}
            self._save(job)

    def _clear_old_files(self) -> None:
        if not self.files.exists():
            return
        cutoff = time.time() - KEEP_FILES_S
        for folder in self.files.iterdir():
            with contextlib.suppress(OSError):
                if folder.stat().st_mtime < cutoff:
                    shutil.rmtree(folder, ignore_errors=True)


def _age(stamp: str | None) -> float:
    if not stamp:
        return float("inf")
    try:
        then = dt.datetime.fromisoformat(stamp)
    except ValueError:
        return float("inf")
    return (dt.datetime.now(dt.UTC) - then).total_seconds()


_QUEUES: dict[tuple[str, int], JobQueue] = {}
_QUEUES_LOCK = threading.Lock()


def queue_for(store: Store, settings: Any = None) -> JobQueue:
    """The process's queue for this workspace (one per store object)."""
    key = (store.uri, id(store))
    with _QUEUES_LOCK:
        if key not in _QUEUES:
            _QUEUES[key] = JobQueue(store, settings)
        return _QUEUES[key]

"""Background jobs with progress: long runs (placement, large exports) answer at once and are polled.

Jobs live in the server process (a restart forgets them); each board keeps its last 50
finished jobs and runs at most ``workers`` at a time. A job is its starter's alone (the area
policy's rule, :meth:`api.access.Scope.owns`): anyone else, administrators included, is
told there is no such job.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pydantic import BaseModel

from api.access import Scope, User
from layers.errors import UnknownLayerError
from layers.store import now_iso

KEEP = 50


class Job(BaseModel):
    id: str
    status: str  # queued, running, done, failed
    user: str
    created_at: str
    progress: list[str]
    result: dict[str, Any] | None = None
    error: str | None = None


class JobBoard:
    """Jobs of one kind, run in the background by a small pool."""

    def __init__(self, name: str, workers: int = 1,
                 on_forget: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.name = name
        self._jobs: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
        self._on_forget = on_forget

    def submit(self, user: User, work: Callable[[Callable[[str], None]], dict[str, Any]]) -> dict[str, Any]:
        """Queue ``work(progress)``; its answer becomes the job's result."""
        job: dict[str, Any] = {"id": secrets.token_hex(8), "status": "queued", "user": user.username,
                               "created_at": now_iso(), "progress": [], "result": None, "error": None}
        with self._lock:
            finished = [k for k, v in self._jobs.items() if v["status"] in ("done", "failed")]
            for old in finished[:-KEEP]:
                gone = self._jobs.pop(old)
                if self._on_forget:
                    self._on_forget(gone)
            self._jobs[job["id"]] = job

        def run() -> None:
            job["status"] = "running"
            try:
                job["result"] = work(job["progress"].append)
                job["status"] = "done"
            except Exception as exc:  # the job reports it; the service goes on
                job["error"], job["status"] = f"{type(exc).__name__}: {exc}", "failed"

        self._pool.submit(run)
        return job

    def get(self, job_id: str, scope: Scope) -> dict[str, Any]:
        job = self._jobs.get(job_id)
        if job is None or not scope.owns(job):
            raise UnknownLayerError(f"no {self.name} job '{job_id}' of yours")
        return job

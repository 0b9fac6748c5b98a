"""Jobs survive a restart and are shared by two server processes on one workspace (real `pingan serve`s)."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from benchmarks import pages
from tests.conftest import BACKENDS, copied_workspace

ROOT = Path(__file__).parents[2]


def serve(workspace: Path | str, stale_s: float = 4.0) -> tuple[str, subprocess.Popen[bytes]]:
    """A real `pingan serve --no-auth`, taking a job for dead after ``stale_s`` without a heartbeat."""
    return pages.serve(workspace, "--no-auth", env={"PINGAN_JOB_STALE_S": str(stale_s)})


def wait(http: httpx.Client, path: str, until: tuple[str, ...], seconds: float = 120) -> dict:
    deadline = time.time() + seconds
    while time.time() < deadline:
        job = http.get(path).json()
        if job["status"] in until:
            return job
        time.sleep(0.25)
    raise AssertionError(f"{path} stayed {job['status']}: {job}")


@pytest.fixture(params=BACKENDS)
def workspace(request, analysed_path, tmp_path_factory) -> str:
    return copied_workspace(request, analysed_path, "jobs_restart", tmp_path_factory)[0]


EXPORT = {"what": "layer", "layer": "grids", "format": "csv"}


def test_a_restart_fails_the_running_job_visibly_and_runs_the_queued_one(workspace):
    url, first = serve(workspace)
    try:
        with httpx.Client(base_url=url, timeout=60) as http:
            slow = http.post("/api/placement/jobs", json={"k": 3, "seconds": 60}).json()
            queued = http.post("/api/export/jobs", json=EXPORT).json()  # one job at a time: this one waits
            running = wait(http, f"/api/placement/jobs/{slow['id']}", ("running", "done", "failed"))
            assert running["status"] == "running", running
            assert http.get(f"/api/export/jobs/{queued['id']}").json()["status"] == "queued"
    finally:
        first.send_signal(signal.SIGKILL)  # the server dies mid-job
        first.wait()
    url, second = serve(workspace)
    try:
        with httpx.Client(base_url=url, timeout=60) as http:
            dead = wait(http, f"/api/placement/jobs/{slow['id']}", ("done", "failed"), seconds=60)
            assert dead["status"] == "failed" and "stopped" in dead["error"], dead
            assert dead["progress"]  # what it had done is still there
            done = wait(http, f"/api/export/jobs/{queued['id']}", ("done", "failed"))
            assert done["status"] == "done", done
            got = http.get(done["result"]["download"])
            assert got.status_code == 200 and got.content.count(b"\n") > 10
    finally:
        second.terminate()
        second.wait(timeout=30)


def test_two_servers_on_one_workspace_see_the_same_jobs(workspace):
    (a, one), (b, two) = serve(workspace), serve(workspace)
    try:
        with httpx.Client(base_url=a, timeout=60) as on_a, httpx.Client(base_url=b, timeout=60) as on_b:
            started = on_a.post("/api/export/jobs", json=EXPORT).json()
            seen = wait(on_b, f"/api/export/jobs/{started['id']}", ("done", "failed"))
            assert seen["status"] == "done" and seen["id"] == started["id"]
            assert on_a.get(f"/api/export/jobs/{started['id']}").json()["progress"] == seen["progress"]
            assert on_b.get(seen["result"]["download"]).status_code == 200
            assert on_b.get("/api/export/jobs/0123456789abcdef").status_code == 404
    finally:
        for proc in (one, two):
            proc.terminate()
            proc.wait(timeout=30)

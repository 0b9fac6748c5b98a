"""Long steps show how far they are: the CLI draws done/total with the time left, and a job keeps
the count of its running step (saved at most once a second)."""

import threading
import time

from rich.console import Console

from api import access, jobs
from api.cli import common
from api.settings import Settings
from api.workflows.progress import counter, quiet
from layers import store


def test_the_cli_bar_shows_counts_and_time_left(monkeypatch):
    console = Console(record=True, force_terminal=True, width=140, color_system=None)
    monkeypatch.setattr(common, "err", console)
    with common.progress_steps("placement") as step:
        step("candidate sites")
        tick = counter(step, "views of 400 candidates")
        for done in range(0, 401, 100):
            tick(done, 400)
            console.file.flush()
        shown = console.export_text(clear=False)
    assert "· candidate sites" in shown and "· views of 400 candidates" in shown
    assert "placement: views of 400 candidates" in shown and "/400" in shown


def test_quiet_takes_every_form():
    quiet("a")
    quiet("a", 1, 2)


def test_a_job_keeps_its_running_steps_count(tmp_path):
    ws = store.open_workspace(tmp_path / "ws.gpkg", create=True)
    seen = []
    submitted = threading.Event()

    def counted(context, params, progress):
        progress("reading")
        for done in range(0, 5001, 50):
            progress("views of 5,000 candidates", done, 5000)
        submitted.wait(10)  # the worker may start before submit() has returned
        seen.append(queue.get(submitted.id, scope)["counts"])  # as a client polling now sees it
        progress("solving")
        return {"ok": True}

    jobs.KINDS["test_counted"] = counted
    try:
        queue = jobs.queue_for(ws, Settings(workspace=tmp_path / "ws.gpkg"))
        user = access.User("local", access.ROLES["admin"], access.Area(), "")
        scope = access.Scope.of(ws, user)
        job = queue.submit("test_counted", user, {})
        submitted.id = job["id"]
        submitted.set()
        deadline = time.time() + 60
        while queue.get(job["id"], scope)["status"] not in ("done", "failed") and time.time() < deadline:
            time.sleep(0.1)
        done = queue.get(job["id"], scope)
    finally:
        jobs.KINDS.pop("test_counted")
    assert done["status"] == "done", done
    assert done["progress"] == ["reading", "views of 5,000 candidates", "solving"]  # one line per step
    assert seen == [{"step": "views of 5,000 candidates", "done": 5000, "total": 5000}]
    assert done["counts"] is None  # the last step is not counted


def test_a_one_argument_callback_gets_each_steps_name_once():
    from api.workflows.progress import as_step

    names = []
    step = as_step(names.append)
    step("reading")
    for done in range(3):
        step("views of 3 candidates", done, 3)
    step("solving")
    assert names == ["reading", "views of 3 candidates", "solving"]
    counted = []
    assert as_step(lambda name, done=None, total=None: counted.append(done))("x", 1, 2) is None and counted == [1]

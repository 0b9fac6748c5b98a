"""The demo, the service and its people: demo, serve, users, audit."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from api.cli.common import (
    DEFAULT_WORKSPACE,
    Workspace,
    WorkspaceOpt,
    app,
    cli_errors,
    emit,
    json_mode,
    open_store,
    out,
    people_table,
    progress_steps,
    redact,
    say,
)
from api.logs import configure_logging
from layers import demo
from layers.store import open_workspace


@app.command("demo")
def demo_cmd(workspace: Annotated[Path, typer.Argument(help="Where to build it")] = Path(DEFAULT_WORKSPACE),
             seed: Annotated[int, typer.Option(help="Random seed (same seed, same town)")] = 2013,
             force: Annotated[bool, typer.Option(help="Rebuild even if the workspace exists")] = False,
             serve: Annotated[bool, typer.Option(help="Serve the map afterwards")] = False,
             analysis: Annotated[bool, typer.Option(help="Compute views, coverage, risk and patrols")] = True,
             port: Annotated[int, typer.Option(help="Port for --serve")] = 8000) -> None:
    """Build the demo workspace (a town in 莱西市, Qingdao), compute coverage, risk and the evening patrols,
    optionally serve it."""
    from api.workflows.coverage import compute_coverage, coverage_is_current
    from api.workflows.hierarchy import plan_subgrids
    from api.workflows.patrol import plan_patrols
    from api.workflows.risk import compute_risk
    from api.workflows.views import compute_views

    with cli_errors():
        summary: dict[str, Any] = {"workspace": str(workspace)}
        if workspace.exists() and not force:
            say(f"{workspace} exists; using it as it is (--force rebuilds it)")
            store = open_workspace(workspace)
        else:
            store = open_workspace(workspace, create=True, name="莱西市水集街道示范区", overwrite=True)
            with progress_steps("building the demo town") as step:
                counts = demo.build(store, seed=seed, progress=step)
            summary["layers"] = {k: v for k, v in counts.items() if not k.startswith("_")}
            say(", ".join(f"{k} {v}" for k, v in summary["layers"].items()))
            say(f"demo workspace written to {workspace}")
        from api import access

        made = access.create_demo_users(store)
        summary["users"] = [dict(zip(("user", "role", "area", "password"), row, strict=True)) for row in made]
        if made and not json_mode():
            table = people_table("user", "role", "area", "password (new on every demo run)",
                                 title="demo users: log in at /login")
            for row in made:
                table.add_row(*row)
            out.print(table)
        if analysis and not (coverage_is_current(store) and store.has("risk")):
            with progress_steps("analysing") as step:
                step("camera views")
                compute_views(store)
                compute_coverage(store, progress=step)
                result = compute_risk(store, progress=step)
                if store.has("stations"):  # the evening patrols, so /patrol has a plan to show
                    patrol = plan_patrols(store, slot="18-24", units={"foot": 2, "car": 1}, shift_h=4.0, seconds=2.0,
                                          progress=step)
                    summary["patrol_routes"] = len(patrol.routes)
                step("组格 and 片格")  # the levels below the grids, for the 3D map's drill-down
                summary["subgrids"] = len(plan_subgrids(store, progress=step))
            levels = result.grids["level"].value_counts()
            summary["levels"] = {lv: int(levels.get(lv, 0)) for lv in ("red", "yellow", "green")}
            say(f"coverage and risk computed: {levels.get('red', 0)} red, {levels.get('yellow', 0)} yellow, "
                      f"{levels.get('green', 0)} green grids")
            if "subgrids" in summary:
                say(f"{summary['subgrids']} 组格/片格 planned inside the grids; the 3D map is at /3d")
            if "patrol_routes" in summary:
                say(f"evening patrols (18-24) planned: {summary['patrol_routes']} routes, shown at /patrol")
        emit(summary)
    if serve:
        serve_cmd(str(workspace), port=port)


@app.command("serve")
def serve_cmd(workspace: Workspace = DEFAULT_WORKSPACE,
              host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
              port: Annotated[int, typer.Option(help="Port")] = 8000,
              auth: Annotated[bool, typer.Option(help="Require users to log in (--no-auth: loopback only)")] = True,
              workers: Annotated[int, typer.Option(min=1, max=64, help="Server processes (they share the "
                                                   "workspace, sessions, what-if sessions and jobs)")] = 1,
              log_level: Annotated[str, typer.Option(help="info: a line per request (method, path, status, ms, "
                                                     "request id) and what the server does; warning: problems only")
                                   ] = "info",
              ) -> None:
    """Serve the maps and the API for a workspace."""
    if log_level.lower() not in ("debug", "info", "warning", "error"):
        raise typer.BadParameter(f"--log-level {log_level}: use debug, info, warning or error")
    configure_logging(log_level)
    import uvicorn

    from api import access
    from api.app import create_app
    from api.settings import Settings

    with cli_errors():
        store = open_store(workspace)  # fail here, clearly, rather than on the first request
        if not auth and host not in ("127.0.0.1", "localhost", "::1"):
            raise typer.BadParameter("--no-auth serves everything to anyone who can connect: only on 127.0.0.1")
        if auth and not access.has_users(store):
            out.print("[yellow]this workspace has no users yet: add one with "
                      "'pingan users add NAME --role admin' before logging in[/yellow]")
    out.print(f"serving {redact(workspace)} at http://{host}:{port}"
              + (f" with {workers} processes" if workers > 1 else "") + "  (Ctrl+C stops)")
    if workers == 1:
        uvicorn.run(create_app(Settings(workspace=workspace, host=host, port=port, auth=auth, log_level=log_level)),
                    host=host, port=port, log_level="warning")  # uvicorn's own access log: ours has request ids
        return
    # each process builds its own app from the same settings, passed the way Settings reads them
    where = str(workspace) if "://" in str(workspace) else str(Path(workspace).resolve())
    os.environ.update({"PINGAN_WORKSPACE": where, "PINGAN_HOST": host, "PINGAN_PORT": str(port),
                       "PINGAN_AUTH": "true" if auth else "false", "PINGAN_LOG_LEVEL": log_level})
    uvicorn.run("api.app:create_app", factory=True, host=host, port=port, workers=workers, log_level="warning")


users_app = typer.Typer(help="Users, roles and areas of a workspace", no_args_is_help=True)
app.add_typer(users_app, name="users")


@users_app.command("add")
def users_add(name: Annotated[str, typer.Argument(help="User name")],
              role: Annotated[str, typer.Option(help="admin, planner, police, grid_worker or viewer")],
              area: Annotated[str, typer.Option(help="all, an admin-code prefix, community:CODE,… or grid:CODE,…")
                              ] = "all",
              workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
              display_name: Annotated[str, typer.Option(help="Name shown in the pages")] = "",
              password_stdin: Annotated[bool, typer.Option(help="Read the password from stdin")] = False) -> None:
    """Add a user; prints a generated password once (or reads one with --password-stdin)."""
    from api import access

    with cli_errors():
        store = open_store(workspace)
        password = sys.stdin.readline().rstrip("\n") if password_stdin else None
        made = access.add_user(store, name, role, access.Area.parse(area), password, display_name=display_name,
                               by="cli")
        if not emit({"user": name, "role": role, "area": access.Area.parse(area).describe(),
                     "password": None if password_stdin else made}):
            out.print(f"user {name} ({role}, area {access.Area.parse(area).describe()}) added"
                      + ("" if password_stdin else f"; password (shown once): {made}"))


@users_app.command("list")
def users_list(workspace: WorkspaceOpt = DEFAULT_WORKSPACE) -> None:
    """The users with role, area and state (never passwords)."""
    from api import access

    with cli_errors():
        store = open_store(workspace)
        rows = [{"user": u["username"], "name": u["display_name"] or "", "role": u["role"],
                 "area": access.Area.from_json(u["area"]).describe(),
                 "state": "disabled" if u["disabled"] == "1" else "active",
                 "clients_held_back": access.login_holds(store, u["username"]), "created": u["created_at"]}
                for u in access.users(store)]
        if emit({"users": rows}):
            return
        table = people_table("user", "name", "role", "area", "state", "clients held back", "created")
        for r in rows:
            table.add_row(*(str(v) for v in r.values()))
        out.print(table)


@users_app.command("passwd")
def users_passwd(name: str, workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
                 password_stdin: Annotated[bool, typer.Option(help="Read the password from stdin")] = False) -> None:
    """Set a new password (generated and shown once unless read from stdin); ends their sessions."""
    from api import access

    with cli_errors():
        password = sys.stdin.readline().rstrip("\n") if password_stdin else None
        made = access.set_password(open_store(workspace), name, password, by="cli")
        if not emit({"user": name, "password": None if password_stdin else made}):
            out.print(f"password of {name} set" + ("" if password_stdin else f" (shown once): {made}"))


@users_app.command("disable")
def users_disable(name: str, workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
                  enable: Annotated[bool, typer.Option(help="Enable again instead")] = False) -> None:
    """Disable a user (ends their sessions at once), or --enable them again."""
    from api import access

    with cli_errors():
        access.set_disabled(open_store(workspace), name, not enable, by="cli")
        if not emit({"user": name, "disabled": not enable}):
            out.print(f"user {name} {'enabled' if enable else 'disabled'}")


@app.command("audit")
def audit_cmd(workspace: Workspace = DEFAULT_WORKSPACE,
              user: Annotated[str | None, typer.Option(help="Only this user")] = None,
              action: Annotated[str | None, typer.Option(help="Only this action (view, export, login, …)")] = None,
              since: Annotated[str | None, typer.Option(help="From this ISO date/time (UTC)")] = None,
              limit: Annotated[int, typer.Option(help="At most this many, newest first")] = 50) -> None:
    """Query the audit log: who did what, when, to which object."""
    with cli_errors():
        from api import access

        log = access.audit_entries(open_store(workspace), user=user, action=action, since=since, limit=limit)
        if emit({"entries": log}):
            return
        table = people_table("at", "user", "action", "object", "detail")
        for r in log.itertuples():
            table.add_row(*(str(v) for v in (r.at, r.user, r.action, r.object, r.detail)))
        out.print(table)

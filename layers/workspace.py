"""Whole workspaces: a copy from one store into another (GeoPackage ⇄ PostGIS), layers, versions,
metadata and the audit log together."""

from __future__ import annotations

from collections.abc import Callable

from layers.errors import WorkspaceError
from layers.store import Store


def copy_workspace(src: Store, dst: Store, *, users: bool = False,
                   progress: Callable[[str], None] | None = None) -> dict[str, int]:
    """Copy a whole workspace into an empty one (GeoPackage ⇄ PostGIS).

    Every layer (with its version and time), the metadata and the audit log are copied. Sessions
    and keys are never copied: users log in again.

    Parameters
    ----------
    src
        The workspace copied.
    dst
        The empty workspace it is copied into.
    users
        Copy the user accounts too.
    progress
        Called with a short description of each layer copied.

    Returns
    -------
    dict
        Rows copied per layer.
    """
    step = progress or (lambda _name: None)
    if dst.layers():
        raise WorkspaceError(f"{dst.uri} already has layers: copy into a new, empty workspace")
    copied: dict[str, int] = {}
    for info in src.layers():
        step(f"{info.name} ({info.rows:,} rows)")
        frame = src.read(info.name)
        dst.write(info.name, frame, message=f"copied from {src.uri}")
        dst.restore_layer_info(info.name, info.version, info.updated_at)
        copied[info.name] = len(frame)
    step("settings, users and the audit log" if users else "settings and the audit log")
    dst.set_meta(src.meta())
    for record in src.records("users") if users else []:
        dst.put_record("users", "username", record)
    log = src.audit_log()
    dst.append_audit([(str(r.at), str(r.user), str(r.action), str(r.object), "" if r.detail is None else str(r.detail))
                      for r in log.itertuples(index=False)])
    return copied

"""A copy of a workspace for people outside: ``pingan workspace share WS OUT.gpkg``.

The copy is one GeoPackage (rollback journal, nothing beside it) with every layer except the
household detail, which becomes ``households_by_grid``: counts per grid with 1–4 suppressed
(:mod:`api.exports.privacy`). It holds no users, sessions, keys or audit log (those never live
in a ``.gpkg``, and the audit log is left out), so handing it on hands on no account and no
record of who looked at what. Versions are kept, so results computed from the inputs stay current.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

from api.exports import privacy
from api.exports.source import Source
from layers import accounts
from layers.errors import WorkspaceExistsError
from layers.geopackage import GeoPackageStore
from layers.store import Store

#: layers that hold personal detail and never leave in a shared copy
PERSONAL = ("households",)
AGGREGATE = "households_by_grid"


def share_workspace(store: Store, out: Path, *, force: bool = False,
                    progress: Callable[[str], None] | None = None) -> dict[str, int]:
    """Write the shared copy to ``out``; returns the rows written per layer."""
    step = progress or (lambda _name: None)
    out = Path(out)
    tmp = out.with_name(f".{out.stem}.share-{os.getpid()}.gpkg")
    if out.exists() and not force:
        raise WorkspaceExistsError(f"{out} already exists: choose another name, or replace it (--force)")
    written: dict[str, int] = {}
    try:
        dst = GeoPackageStore.create(tmp, name=str(store.get_meta("name") or ""), overwrite=True)
        for info in store.layers():
            if info.name in PERSONAL:
                continue
            step(f"{info.name} ({info.rows:,} rows)")
            frame = store.read(info.name)
            dst.write(info.name, frame, message=f"shared from {store.uri}")
            dst.restore_layer_info(info.name, info.version, info.updated_at)
            written[info.name] = len(frame)
        if store.has("households") and store.has("grids"):
            step("households, as counts per grid (1–4 suppressed)")
            counts, _ = privacy.suppress(privacy.household_aggregates(Source.local(store)), group="community_code")
            dst.write(AGGREGATE, counts, message="household counts per grid, 1–4 suppressed")
            written[AGGREGATE] = len(counts)
        dst.set_meta(store.meta() | {"shared_from": str(store.get_meta("name") or "")})
        dst.close()
        with contextlib.closing(sqlite3.connect(tmp)) as con:
            con.execute("DROP TABLE IF EXISTS pingan_audit")
            con.execute("DELETE FROM gpkg_contents WHERE table_name = 'pingan_audit'")
            con.execute("DELETE FROM gpkg_ogr_contents WHERE table_name = 'pingan_audit'")
            con.commit()
            con.execute("VACUUM")  # nothing dropped lingers in free pages
            con.execute("PRAGMA journal_mode = DELETE")  # one file, readable from read-only media
        for extra in ("-wal", "-shm"):
            tmp.with_name(tmp.name + extra).unlink(missing_ok=True)
        os.replace(tmp, out)
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + "-wal"), tmp.with_name(tmp.name + "-shm")):
            leftover.unlink(missing_ok=True)

        accounts.sibling(tmp).unlink(missing_ok=True)
    store.audit("workspace_share", str(out.name), {"layers": written})
    return written

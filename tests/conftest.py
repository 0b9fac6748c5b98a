"""Shared fixtures: the demo workspace (built once), a tiny workspace, and the CI rule.

A test that needs an outside part (Chromium, PostGIS) calls :func:`require`: it skips
with its reason on a laptop without it and fails in CI (``CI=true``), where it must run.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import LineString, Point, Polygon, box

from layers import demo, store, validate
from layers.workspace import copy_workspace

IN_CI = os.environ.get("CI", "").lower() == "true"


def require(condition: bool, reason: str) -> None:
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


def file_digest(path: Path) -> str:
    """A digest of what a workspace holds (every table's rows and the schema), whatever SQLite's WAL
    has or has not folded into the file yet; other files by their bytes."""
    path = Path(path)
    digest = hashlib.sha256()
    con = sqlite3.connect(path)  # never open() the file: closing it would drop the SQLite locks of this process
    try:
        for line in con.iterdump():
            digest.update(line.encode())
    except sqlite3.DatabaseError:
        return hashlib.sha256(path.read_bytes()).hexdigest()  # not SQLite: its bytes
    finally:
        con.close()
    return digest.hexdigest()


@pytest.fixture(scope="session")
def demo_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.gpkg"
    demo.build(store.open_workspace(path, create=True, name="demo"))
    return path


@pytest.fixture(scope="session")
def analysed_path(tmp_path_factory: pytest.TempPathFactory, demo_path: Path) -> Path:
    """The demo workspace with views, coverage, risk and the 组格/片格 computed (as `pingan demo` leaves it)."""
    from api.workflows.coverage import compute_coverage
    from api.workflows.hierarchy import plan_subgrids
    from api.workflows.risk import compute_risk
    from api.workflows.views import compute_views

    path = tmp_path_factory.mktemp("analysed") / "demo.gpkg"
    shutil.copyfile(demo_path, path)
    ws = store.open_workspace(path)
    compute_views(ws)
    compute_coverage(ws)
    compute_risk(ws)
    plan_subgrids(ws)
    return path


#: the stores every test that touches a workspace through these fixtures runs on
BACKENDS = ["gpkg", "postgis"]


def copied_workspace(request: pytest.FixtureRequest, source: Path, name: str,
                     tmp_path_factory: pytest.TempPathFactory) -> tuple[str, store.Store]:
    """``source`` copied into a new workspace of the backend ``request.param``: a GeoPackage file,
    or a schema of the test PostGIS database (``pingan workspace copy``'s code path)."""
    if request.param == "gpkg":
        path = tmp_path_factory.mktemp(name) / "demo.gpkg"
        shutil.copyfile(source, path)
        return str(path), store.open_workspace(path)
    uri = f"{request.getfixturevalue('postgis_uri')}?workspace={name}"
    ws = store.open_workspace(uri, create=True, overwrite=True)
    copy_workspace(store.open_workspace(source), ws)
    return uri, ws


@pytest.fixture(scope="module", params=BACKENDS)
def module_demo(request: pytest.FixtureRequest, demo_path: Path,
                tmp_path_factory: pytest.TempPathFactory) -> store.Store:
    """A copy of the demo workspace shared by the tests of one module, on each backend."""
    module = request.module.__name__.rsplit(".", 1)[-1]
    return copied_workspace(request, demo_path, f"module_{module}", tmp_path_factory)[1]


@pytest.fixture
def demo_copy(demo_path: Path, tmp_path: Path) -> Path:
    """A private copy of the demo workspace that a test may change."""
    target = tmp_path / "demo.gpkg"
    shutil.copyfile(demo_path, target)
    return target


def tiny_layers() -> dict[str, pd.DataFrame]:
    """One small layer per schema near Laixi, with Chinese text, in canonical fields."""
    x, y = 120.51, 36.88
    d = 0.001
    comm = "370285001001"
    return {
        "communities": gpd.GeoDataFrame({"code": [comm], "name": ["月湖社区"], "township": ["水集街道"],
                                         "admin_code": ["370285001"]},
                                        geometry=[box(x, y, x + 4 * d, y + 3 * d)], crs=4326),
        "grids": gpd.GeoDataFrame({"code": [comm + "001", comm + "002"], "name": ["第一网格", "第二网格"],
                                   "community_code": [comm, comm], "kind": ["basic", "dedicated"],
                                   "worker_id": ["W1", "W2"]},
                                  geometry=[box(x, y, x + 2 * d, y + 3 * d), box(x + 2 * d, y, x + 4 * d, y + 3 * d)],
                                  crs=4326),
        "buildings": gpd.GeoDataFrame({"id": ["B1", "B2"], "name": ["月湖花园1号楼", "商铺"], "height_m": [18.0, None],
                                       "floors": pd.array([6, 2], dtype="Int64"), "use": ["residential", "commercial"],
                                       "address": ["烟台路1号", "烟台路3号"]},
                                      geometry=[box(x + d, y + d, x + 1.5 * d, y + 1.2 * d),
                                                box(x + 2.5 * d, y + d, x + 2.8 * d, y + 1.2 * d)], crs=4326),
        "households": pd.DataFrame({"id": ["B1-001", "B1-002"], "building_id": ["B1", "B1"],
                                    "unit": ["1单元101", "1单元102"], "members": pd.array([3, 0], dtype="Int64"),
                                    "tags": ["常住;独居老人", "空置"]}),
        "roads": gpd.GeoDataFrame({"id": ["R1"], "name": ["烟台路"], "class": ["primary"], "width_m": [30.0]},
                                  geometry=[LineString([(x, y + 1.5 * d), (x + 4 * d, y + 1.5 * d)])], crs=4326),
        "targets": gpd.GeoDataFrame({"id": ["T1", "T2"], "name": ["月湖小学", "月湖小学南门"],
                                     "category": ["school", "entrance"], "class": ["1", "1"],
                                     "required_level": ["recognise", "identify"], "address": ["文化路2号", None]},
                                    geometry=[Polygon([(x + 3 * d, y + 2 * d), (x + 3.8 * d, y + 2 * d),
                                                       (x + 3.8 * d, y + 2.8 * d), (x + 3 * d, y + 2.8 * d)]),
                                              Point(x + 3.4 * d, y + 2 * d)], crs=4326),
        "cameras": gpd.GeoDataFrame({"id": ["37028500001320000001"], "name": ["烟台路与文化路路口"], "kind": ["bullet"],
                                     "heading_deg": [90.0], "hfov_deg": [None], "focal_mm": [4.0],
                                     "sensor": ['1/2.8"'], "resolution_px": pd.array([1920], dtype="Int64"),
                                     "resolution_v_px": pd.array([1080], dtype="Int64"), "height_m": [6.0],
                                     "tilt_deg": [15.0], "status": ["active"], "point_class": ["1"],
                                     "grid_code": [comm + "001"], "community_name": ["月湖社区"],
                                     "address": ["烟台路"]},
                                    geometry=[Point(x + 0.5 * d, y + 1.5 * d)], crs=4326),
        "sites": gpd.GeoDataFrame({"id": ["S1"], "kind": ["pole"], "height_m": [6.0], "cost": [12000.0],
                                   "name": ["烟台路立杆"]}, geometry=[Point(x + 2 * d, y + 1.6 * d)], crs=4326),
        "incidents": gpd.GeoDataFrame({"id": ["JQ1"], "time": [pd.Timestamp("2026-03-01 21:30")],
                                       "category": ["theft"], "severity": ["minor"]},
                                      geometry=[Point(x + 1.2 * d, y + 1.6 * d)], crs=4326),
    }


@pytest.fixture
def tiny_path(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.gpkg"
    ws = store.open_workspace(path, create=True, name="小工作区")
    ws.write_many({name: validate.validate(frame, name) for name, frame in tiny_layers().items()})
    return path


# ---- PostGIS: a private cluster on a loopback port, for the session --------------------------
def _pg_bin() -> Path | None:
    for d in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (d / "initdb").exists():
            return d
    found = shutil.which("initdb")
    return Path(found).parent if found else None


@pytest.fixture(scope="session")
def postgis_uri() -> Iterator[str]:
    """A PostgreSQL database with PostGIS: ``PINGAN_TEST_POSTGIS`` if set, else a private cluster
    (initdb into a temporary directory, started on a free loopback port, removed afterwards)."""
    if os.environ.get("PINGAN_TEST_POSTGIS"):
        yield os.environ["PINGAN_TEST_POSTGIS"]
        return
    try:
        import psycopg  # noqa: F401
    except ImportError:
        require(False, "psycopg is not installed (pip install -e .[test])")
    pg = _pg_bin()
    require(pg is not None, "PostgreSQL is not installed (apt-get install postgresql-15-postgis-3)")
    assert pg is not None
    version = pg.parent.name
    require(any(Path(f"/usr/share/postgresql/{version}/extension").glob("postgis.control")),
            f"PostGIS is not installed for PostgreSQL {version} (apt-get install postgresql-{version}-postgis-3)")
    root = Path(tempfile.mkdtemp(prefix="pingan-pg-"))
    as_root = os.geteuid() == 0  # initdb refuses root: the cluster then belongs to the postgres user
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    if as_root:
        shutil.chown(root, "postgres", "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])

    def run(*cmd: str | Path) -> None:
        done = subprocess.run([*prefix, *map(str, cmd)], capture_output=True, text=True, check=False)
        if done.returncode:
            pytest.fail(f"{Path(str(cmd[0])).name} failed: {done.stderr.strip() or done.stdout.strip()}")

    data = root / "data"
    run(pg / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C")
    run(pg / "pg_ctl", "-D", data, "-l", root / "server.log", "-w", "-o",
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50", "start")
    try:
        run(pg / "psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-q", "-c",
            "CREATE DATABASE pingan_test")
        yield f"postgresql://postgres@127.0.0.1:{port}/pingan_test"
    finally:
        run(pg / "pg_ctl", "-D", data, "-m", "immediate", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


#: GDAL's GeoPackage validator as Debian 12 ships it (gdal-bin 3.6, whose QGIS reads the same files)
DEBIAN_VALIDATOR = Path("/usr/lib/python3/dist-packages/osgeo_utils/samples/validate_gpkg.py")


def debian_gdal_validates(path: Path) -> None:
    """Debian's GDAL 3.6 validator passes on ``path`` (skips without gdal-bin, fails so in CI)."""
    require(DEBIAN_VALIDATOR.exists() and Path("/usr/bin/python3").exists(),
            "Debian's gdal-bin is not installed (apt-get install gdal-bin)")
    done = subprocess.run(["/usr/bin/python3", str(DEBIAN_VALIDATOR), str(path)], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, (path.name, (done.stdout + done.stderr)[-800:])

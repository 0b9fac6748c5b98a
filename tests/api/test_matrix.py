"""The role × area × route matrix: every route of the OpenAPI, every role with area 'all' and with one
community, and anonymous, inside and outside that community — as an attacker would try it.

Expectations are written from the role table (``api.access.ROLES``, the documented spec) and
membership is worked out here independently, from the stored geometry: a row is inside when
its representative point lies in the community's grids (a household by its building, a
view by its camera, a grid or result row by its code). A route added to the app without a
row in ``ROUTES`` fails :func:`test_every_route_has_a_row`.
"""

from __future__ import annotations

import collections
import csv
import io
import json
import shutil
import time
from collections.abc import Callable
from typing import Any

import mapbox_vector_tile
import mercantile
import numpy as np
import pandas as pd
import pytest
import shapely
from fastapi.testclient import TestClient

from api import access
from api.app import create_app
from api.settings import Settings
from layers import store

PASSWORD = "correct horse battery"
ROLE_NAMES = list(access.ROLES)
USERS = [f"{role}_{area}" for role in ROLE_NAMES for area in ("all", "c")] + [None]  # None: anonymous
EDITABLE = ["communities", "grids", "buildings", "households", "roads", "targets", "incidents", "cameras", "sites"]
KEYS = {"communities": "code", "grids": "code", "risk": "code", "risk_history": "code", "coverage_grids": "code",
        "coverage_communities": "community_code", "views": "camera", "proposals": "rank", "patrol_zones": "code",
        "subgrids": "code", "views_night": "camera", "coverage_grids_night": "code",
        "coverage_communities_night": "community_code", "capture_views": "camera", "capture_views_night": "camera",
        "preset_views": "camera", "preset_views_night": "camera"}
COUNTS: collections.Counter[str] = collections.Counter()


def role_of(user: str | None) -> access.Role | None:
    return None if user is None else access.ROLES[user.rsplit("_", 1)[0]]


def limited(user: str | None) -> bool:
    return user is not None and user.endswith("_c")


class World:
    """The analysed demo with the eleven users, and what lies inside and outside community C."""

    def __init__(self, path: Any):
        self.ws = ws = store.open_workspace(path)
        grids = ws.read("grids").sort_values("code")
        self.community = str(grids["community_code"].iloc[0])
        self.other_community = str(grids[grids["community_code"] != self.community]["community_code"].iloc[-1])
        self.mine = grids[grids["community_code"] == self.community]
        self.theirs = grids[grids["community_code"] == self.other_community]
        self.shape = shapely.union_all(self.mine.geometry.to_numpy())
        for role in ROLE_NAMES:
            access.add_user(ws, f"{role}_all", role, access.Area(), PASSWORD)
            access.add_user(ws, f"{role}_c", role, access.Area.parse(f"community:{self.community}"), PASSWORD)
        self.app = create_app(Settings(workspace=path))
        self.clients: dict[str | None, TestClient] = {None: TestClient(self.app)}
        for user in USERS[:-1]:
            r = TestClient(self.app).post("/api/auth/login", json={"username": user, "password": PASSWORD})
            assert r.status_code == 200, r.text
            self.clients[user] = TestClient(self.app, headers={"Authorization": f"Bearer {r.json()['token']}"})
        self._inside: dict[str, set[str]] = {}

    def inside(self, layer: str) -> set[str]:
        """Keys of ``layer``'s rows inside community C, decided here from what is stored."""
        if layer not in self._inside:
            frame = self.ws.read(layer)
            key = KEYS.get(layer, "id")
            if layer in ("grids", "risk", "risk_history", "coverage_grids", "coverage_grids_night"):
                keep = frame["code"].astype(str).isin(set(self.mine["code"].astype(str)))
            elif layer in ("communities", "coverage_communities", "coverage_communities_night"):
                keep = frame[key].astype(str) == self.community
            elif layer == "households":
                keep = frame["building_id"].astype(str).isin(self.inside("buildings"))
            elif layer in ("views", "views_night", "capture_views", "capture_views_night", "preset_views",
                           "preset_views_night"):
                keep = frame["camera"].astype(str).isin(self.inside("cameras"))
            elif layer in ("coverage_targets", "coverage_targets_night"):
                keep = frame["id"].astype(str).isin(self.inside("targets"))
            else:
                keep = shapely.covers(self.shape, shapely.point_on_surface(frame.geometry.to_numpy()))
            keys = frame[key] if key in frame else pd.Series(frame.index, index=frame.index)  # blind spots: rows
            self._inside[layer] = set(keys.astype(str)[keep])
        return self._inside[layer]

    def row(self, layer: str, where: str) -> dict[str, Any]:
        """A stored row of ``layer`` inside (or outside) C, as a GeoJSON Feature."""
        frame = self.ws.read(layer)
        key = KEYS.get(layer, "id")
        ids = frame[key].astype(str)
        if where == "in":
            pick = frame[ids.isin(self.inside(layer))]
        elif layer in ("grids",):
            pick = frame[frame["code"].astype(str).isin(set(self.theirs["code"].astype(str)))]
        elif layer == "communities":
            pick = frame[frame["code"].astype(str) == self.other_community]
        else:
            other = shapely.union_all(self.theirs.geometry.to_numpy())
            if layer == "households":
                blds = self.ws.read("buildings")
                far = set(blds["id"][shapely.covers(other, shapely.point_on_surface(blds.geometry.to_numpy()))])
                pick = frame[frame["building_id"].isin(far)]
            else:
                pick = frame[shapely.covers(other, shapely.point_on_surface(frame.geometry.to_numpy()))]
        assert len(pick), (layer, where)
        row = pick.iloc[0]
        props = {k: (None if _na(v) else v if isinstance(v, int | float | str) else str(v))
                 for k, v in row.items() if k != "geometry"}
        geom = row.get("geometry") if "geometry" in row else None
        return {"type": "Feature", "properties": props,
                "geometry": None if geom is None else json.loads(shapely.to_geojson(geom))}


def _na(v: Any) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


@pytest.fixture(scope="module")
def world(analysed_path, tmp_path_factory) -> World:
    from api.workflows.patrol import plan_patrols

    path = tmp_path_factory.mktemp("matrix") / "demo.gpkg"
    shutil.copyfile(analysed_path, path)
    from api.workflows.coverage import compute_coverage

    ws = store.open_workspace(path)
    plan_patrols(ws, slot="18-24", units={"foot": 1, "car": 1}, shift_h=1.0, seconds=0.3)
    compute_coverage(ws, light="night")  # the night twins: every route and layer check covers them too
    return World(path)


def call(world: World, user: str | None, method: str, url: str, where: str = "-", **kwargs: Any) -> Any:
    COUNTS[f"{method} {url.split('?', maxsplit=1)[0]}"] += 1
    COUNTS[f"user:{user}"] += 1
    COUNTS[f"where:{where}"] += 1
    r = world.clients[user].request(method, url, **kwargs)
    assert r.status_code != 500, (user, method, url, r.text[:300])
    return r


def expect(r: Any, allowed: bool, ok: tuple[int, ...], user: str | None, what: str) -> None:
    """An allowed request answers one of ``ok``; a refused one 401 (anonymous), 403 or 404 and gives nothing."""
    if user is None:
        assert r.status_code in (401, 303), (what, r.status_code)
        return
    if allowed:
        assert r.status_code in ok, (what, user, r.status_code, r.text[:300])
    else:
        assert r.status_code in (403, 404), (what, user, r.status_code, r.text[:300])
        assert "etag" not in {k.lower() for k in r.headers}, (what, user)
        assert "current_etag" not in r.text


# ---- one check per route: (world, user) -> None ---------------------------------------------------
def layers_list(w: World, user: str | None) -> None:
    r = call(w, user, "GET", "/api/layers")
    expect(r, True, (200,), user, "layers")
    if user:
        assert {row["name"] for row in r.json()} <= role_of(user).reads  # type: ignore[union-attr]


def layer_read(w: World, user: str | None) -> None:
    for layer in w.ws.versions():
        role = role_of(user)
        may = role is not None and layer in role.reads and (layer != "households" or role.household_detail)
        r = call(w, user, "GET", f"/api/layers/{layer}", params={"reason": "核查"})
        expect(r, may, (200,), user, layer)
        if not may or user is None:
            continue
        body = r.json()
        rows = [f["properties"] for f in body["features"]] if isinstance(body, dict) else body
        if layer in ("blind_spots", "blind_spots_night"):  # no key: by the geometry returned (as stored)
            geoms = [shapely.from_geojson(json.dumps(f["geometry"])) for f in body["features"] if f["geometry"]]
            inside = shapely.covers(w.shape, shapely.point_on_surface(geoms)) if geoms else []
            stored = w.ws.read(layer)
            assert all(inside) if limited(user) else len(geoms) == (~stored.geometry.is_empty).sum(), (user, layer)
            continue
        keys = {str(p[KEYS.get(layer, "id")]) for p in rows}
        if limited(user):
            assert keys <= w.inside(layer), (user, layer, sorted(keys - w.inside(layer))[:3])
        else:
            assert len(rows) == len(w.ws.read(layer)), (user, layer)
        for p in rows:  # no household count from 1 to 4 in any answer (suppressed: null)
            for col in ("rented", "floating", "care"):
                if isinstance(p.get(col), int | float) and layer != "households":
                    assert not 0 < p[col] < 5, (user, layer, col, p[col])


def layer_create(w: World, user: str | None) -> None:
    for layer in EDITABLE:
        role = role_of(user)
        may = role is not None and layer in role.writes
        for where in ("in", "out"):
            feature = w.row(layer, where)
            r = call(w, user, "POST", f"/api/layers/{layer}", where, json=feature)
            if may and where == "out" and limited(user):
                assert r.status_code == 403, (user, layer, r.text[:200])  # sent outside the area
            else:
                expect(r, may, (409,), user, f"create {layer} {where}")  # the row exists: nothing is created


def feature_read(w: World, user: str | None) -> None:
    for layer in EDITABLE:
        role = role_of(user)
        for where in ("in", "out"):
            fid = w.row(layer, where)["properties"][KEYS.get(layer, "id")]
            r = call(w, user, "GET", f"/api/layers/{layer}/{fid}", where)
            may = (role is not None and layer in role.reads and layer != "households"
                   and not (where == "out" and limited(user)))
            expect(r, may, (200,), user, f"read {layer}/{fid}")
            if may and user:
                assert r.headers["etag"].startswith('"')


def feature_update(w: World, user: str | None) -> None:
    for layer in EDITABLE:
        role = role_of(user)
        may = role is not None and layer in role.writes
        inside, outside = w.row(layer, "in"), w.row(layer, "out")
        key = KEYS.get(layer, "id")
        # the row stored outside, sent as if it were inside (geometry or building of a row inside)
        disguised = {"type": "Feature", "geometry": inside["geometry"],
                     "properties": outside["properties"] | (
                         {"building_id": inside["properties"]["building_id"]} if layer == "households" else {})}
        for where, feature in (("in", inside), ("out", disguised)):
            fid = feature["properties"][key]
            r = call(w, user, "PUT", f"/api/layers/{layer}/{fid}", where, json=feature,
                     headers={"If-Match": '"0000000000"'})
            allowed = may and not (where == "out" and limited(user))
            expect(r, allowed, (412,), user, f"update {layer}/{fid} {where}")
            if allowed:
                assert r.json()["current_etag"] == r.headers["etag"]


def feature_delete(w: World, user: str | None) -> None:
    for layer in EDITABLE:
        role = role_of(user)
        may = role is not None and layer in role.writes
        for where in ("in", "out"):
            fid = w.row(layer, where)["properties"][KEYS.get(layer, "id")]
            r = call(w, user, "DELETE", f"/api/layers/{layer}/{fid}", where, headers={"If-Match": '"00"'})
            expect(r, may and not (where == "out" and limited(user)), (412,), user, f"delete {layer}/{fid}")


def features(w: World, user: str | None) -> None:
    west, south, east, north = shapely.union_all(w.theirs.geometry.to_numpy()).union(w.shape).bounds
    for key, layer in (("cameras", "cameras"), ("buildings", "buildings"), ("roads", "roads"),
                       ("views:detect", "views"), ("household_buildings", "buildings")):
        role = role_of(user)
        source = "buildings" if key == "household_buildings" else layer
        r = call(w, user, "GET", f"/api/features/{key}", "straddling",
                 params={"bbox": f"{west},{south},{east},{north}", "zoom": 18})
        expect(r, role is not None and source in role.reads, (200,), user, key)
        if r.status_code != 200 or not limited(user):
            continue
        found = r.json()["features"]
        if key == "cameras":
            assert {f["properties"]["_id"] for f in found} <= w.inside("cameras")
        elif key.startswith("views"):
            assert {f["properties"]["camera"] for f in found} <= w.inside("cameras")
        else:
            assert len(found) <= len(w.inside(source)), (user, key)


def _tile_shapes(content: bytes, z: int, x: int, y: int) -> list[tuple[dict[str, Any], Any]]:
    """A vector tile's features: properties and lon/lat shape (from the tile's 4096-unit grid)."""
    if not content:
        return []
    west, south, east, north = mercantile.bounds(x, y, z)
    out = []
    for feature in mapbox_vector_tile.decode(content)["features"]["features"]:
        shape = shapely.geometry.shape(feature["geometry"])
        lonlat = shapely.transform(shape, lambda xy: np.column_stack(
            [west + xy[:, 0] / 4096 * (east - west), south + xy[:, 1] / 4096 * (north - south)]))
        out.append((feature["properties"], lonlat))
    return out


def vector_tiles(w: World, user: str | None) -> None:
    """The tiles over C and its neighbour: only what lies in the user's area (as in /api/features)."""
    west, south, east, north = shapely.union_all(w.theirs.geometry.to_numpy()).union(w.shape).bounds
    stored = w.ws.read("buildings")
    mine = shapely.union_all(stored[stored["id"].astype(str).isin(w.inside("buildings"))].geometry.to_numpy())
    for key, source in (("buildings", "buildings"), ("views:detect", "views")):
        role = role_of(user)
        for t in list(mercantile.tiles(west, south, east, north, 16))[:12]:
            r = call(w, user, "GET", f"/api/tiles/{key}/{t.z}/{t.x}/{t.y}.pbf", "straddling")
            expect(r, role is not None and source in role.reads, (200,), user, key)
            if r.status_code != 200 or not limited(user):
                continue
            for props, shape in _tile_shapes(r.content, t.z, t.x, t.y):
                if key == "buildings":  # a (clipped) building of the area, never another's
                    assert mine.buffer(2e-5).covers(shapely.point_on_surface(shape)), (user, props)
                else:
                    assert props["camera"] in w.inside("cameras"), (user, props)


def search(w: World, user: str | None) -> None:
    code = str(w.theirs["code"].iloc[0])
    r = call(w, user, "GET", "/api/search", "out", params={"q": code})
    expect(r, True, (200,), user, "search")
    if user:
        reads_grids = "grids" in role_of(user).reads  # type: ignore[union-attr]
        assert (r.json() == []) == (limited(user) or not reads_grids), (user, r.json()[:1])


def page(url: str) -> Callable[[World, str | None], None]:
    def check(w: World, user: str | None) -> None:
        r = call(w, user, "GET", url, follow_redirects=False)
        role = role_of(user)
        expect(r, role is not None and (url != "/placement" or role.can_place)
               and (url != "/patrol" or "patrol_routes" in role.reads), (200,), user, url)
        if r.status_code == 200:
            assert "script-src 'self' 'sha256-" in r.headers["content-security-policy"]
            if limited(user):
                assert str(w.theirs["code"].iloc[0]) not in r.text
    return check


def patrol_summary(w: World, user: str | None) -> None:
    r = call(w, user, "GET", "/api/patrol", params={"slot": "18-24"})
    role = role_of(user)
    expect(r, role is not None and "patrol_routes" in role.reads, (200,), user, "patrol")
    if r.status_code != 200:
        return
    got = r.json()["slots"][0]
    streets = w.ws.read("patrol_streets")
    keep = shapely.covers(w.shape, shapely.point_on_surface(streets.geometry.to_numpy())) if limited(user) else (
        np.ones(len(streets), dtype=bool))
    assert got["before"] == pytest.approx(float(streets["weight_18_24"][keep].sum())), user
    assert ("solves" in got) == (not limited(user)), user


def patrol_model(w: World, user: str | None) -> None:
    r = call(w, user, "GET", "/api/patrol/model")
    role = role_of(user)
    expect(r, role is not None and "patrol_routes" in role.reads, (200,), user, "patrol model")


def building_stack(w: World, user: str | None) -> None:
    role = role_of(user)
    for where in ("in", "out"):
        bid = w.row("buildings", where)["properties"]["id"]
        r = call(w, user, "GET", f"/api/buildings/{bid}/stack", where)
        allowed = role is not None and "buildings" in role.reads and not (where == "out" and limited(user))
        expect(r, allowed, (200,), user, f"stack {where}")
        if r.status_code == 200:
            cells = r.json()["cells"]
            assert all(c["households"] == "<5" or c["households"] == 0 or c["households"] >= 5 for c in cells)
        r = call(w, user, "GET", f"/api/buildings/{bid}/stack", where, params={"reason": "matrix check"})
        expect(r, allowed and role.household_detail, (200,), user, f"stack detail {where}")  # type: ignore[union-attr]
        if r.status_code == 200:
            assert r.json()["detail"] is not None


def subgrid_card(w: World, user: str | None) -> None:
    role = role_of(user)
    for where in ("in", "out"):
        code = str(w.row("subgrids", where)["properties"]["code"])
        r = call(w, user, "GET", f"/api/subgrids/{code}", where)
        allowed = role is not None and "subgrids" in role.reads and not (where == "out" and limited(user))
        expect(r, allowed, (200,), user, f"subgrid card {where}")
        if r.status_code == 200:
            card = r.json()
            assert card["code"] == code
            assert all(card.get(c) in (None, "<5", 0) or card[c] >= 5 for c in ("households", "rented", "vacant"))
            assert ("households" in card) == bool(role.reads & {"households", "buildings", "risk"}), user  # type: ignore[union-attr]


def design_storage(w: World, user: str | None) -> None:
    r = call(w, user, "GET", "/api/design/storage", params={"level": "grid"})
    role = role_of(user)
    expect(r, role is not None and "cameras" in role.reads, (200,), user, "design storage")
    if r.status_code == 200 and limited(user):  # only the area's grids, and only its cameras counted
        rows = r.json()["levels"]["grid"]
        assert {row["grid"] for row in rows} <= w.inside("grids"), user
        assert r.json()["total"]["cameras"] <= len(w.inside("cameras")), user


def responsibility(w: World, user: str | None) -> None:
    role = role_of(user)
    for where in ("in", "out"):
        code = str(w.row("grids", where)["properties"]["code"])
        r = call(w, user, "PUT", "/api/responsibility", where, json={"rows": [{"code": code, "worker_id": "MX1"}]})
        may = role is not None and {"grids", "subgrids"} <= role.writes
        if may and where == "out" and limited(user):  # outside: the same answer as a code that does not exist
            assert r.status_code == 422 and "in your area" in r.text, (user, r.status_code, r.text[:200])
            ghost = call(w, user, "PUT", "/api/responsibility", where,
                         json={"rows": [{"code": "999999999999999", "worker_id": "MX1"}]})
            assert ghost.json()["detail"].replace("999999999999999", code) == r.json()["detail"], user
            continue
        expect(r, may, (200,), user, f"responsibility {where}")


def patroller(user: str | None) -> bool:
    role = role_of(user)
    return role is not None and role.can_patrol


def patrol_job(w: World, user: str | None) -> None:
    # a what-if plan: any patrol planner, in their own area; a stored plan: a whole-workspace one only
    # (sent with a unit kind the model lacks, so that a permitted request is refused as bad input
    # after the checks, and the stored plan the other rows read stays as it is)
    whatif = {"slot": "18-24", "units": {"foot": 1}, "shift_h": 1.0, "zones": 1, "seconds": 0.3, "whatif": True}
    r = call(w, user, "POST", "/api/patrol/jobs", json=whatif)
    expect(r, patroller(user), (202,), user, "patrol what-if job")
    if r.status_code == 202 and ("patrol" not in JOBS or (limited(user) and not limited(JOBS["patrol"][0]))):
        JOBS["patrol"] = (str(user), r.json()["id"])  # a limited owner's, to check what it is shown
    stored = whatif | {"whatif": False, "units": {"hovercraft": 1}}
    r = call(w, user, "POST", "/api/patrol/jobs", json=stored)
    expect(r, patroller(user) and not limited(user), (422,), user, "stored patrol job")
    assert r.status_code != 422 or "hovercraft" in r.json()["detail"]


def patrol_job_get(w: World, user: str | None) -> None:
    r, owner = _job_read(w, user, "patrol")
    if user != owner or r.status_code != 200:
        return
    job = r.json()
    assert job["status"] == "done", job
    got = job["result"]
    assert got["whatif"] and not got["stored"] and got["slot"] == "18-24"
    assert got["routed"] <= got["before"] + 1e-9 and got["after"] == pytest.approx(got["before"] - got["routed"])
    if limited(owner):  # only the streets, routes and stops in the owner's area; no solver reports
        assert "solves" not in got
        for f in got["routes"]["features"] + got["stops"]["features"]:
            assert shapely.covers(w.shape.buffer(1e-9), shapely.point_on_surface(shapely.geometry.shape(f["geometry"])))


def risk_model(w: World, user: str | None) -> None:
    r = call(w, user, "GET", "/api/risk/model")
    expect(r, user is not None and "risk" in role_of(user).reads, (200,), user, "risk model")  # type: ignore[union-attr]


def risk_model_put(w: World, user: str | None) -> None:
    r = call(w, user, "PUT", "/api/risk/model", content="x = [", headers={"Content-Type": "application/toml"})
    role = role_of(user)
    expect(r, role is not None and "grids" in role.writes and not limited(user), (422,), user, "risk put")


def whatif_drop(w: World, user: str | None) -> None:
    role = role_of(user)
    for where, grids in (("in", w.mine), ("out", w.theirs)):
        point = grids.geometry.iloc[0].representative_point()
        r = call(w, user, "POST", "/api/whatif/cameras", where, json={"lon": point.x, "lat": point.y,
                                                                      "heading_deg": 90})
        allowed = role is not None and role.can_place and not (where == "out" and limited(user))
        expect(r, allowed, (200,), user, f"whatif {where}")
        if allowed and limited(user):
            assert {g["code"] for g in r.json()["grids"]} <= w.inside("grids")
            assert {t["id"] for t in r.json()["targets"]} <= w.inside("targets")


def whatif_remove(w: World, user: str | None) -> None:
    role = role_of(user)
    for where in ("in", "out"):
        cam = w.row("cameras", where)["properties"]["id"]
        r = call(w, user, "DELETE", f"/api/whatif/cameras/{cam}", where)
        allowed = role is not None and role.can_place and not (where == "out" and limited(user))
        expect(r, allowed, (200,), user, f"whatif remove {where}")
    r = call(w, user, "DELETE", "/api/whatif/cameras/WHATIF-999", "unknown")
    expect(r, False, (), user, "whatif remove unknown")


def placer(user: str | None) -> bool:
    role = role_of(user)
    return role is not None and role.can_place and not limited(user)


RUN = {"k": 1, "greedy": True, "heading_step_deg": 180, "models": ["bullet-4mm"]}


def placement_run(w: World, user: str | None) -> None:
    expect(call(w, user, "POST", "/api/placement/run", json=RUN), placer(user), (200,), user, "placement run")


JOBS: dict[str, tuple[str, str]] = {}  # kind -> (owner, job id)


def placement_job(w: World, user: str | None) -> None:
    r = call(w, user, "POST", "/api/placement/jobs", json=RUN)
    expect(r, placer(user), (202,), user, "placement job")
    if r.status_code == 202 and "placement" not in JOBS:
        JOBS["placement"] = (str(user), r.json()["id"])


def _wait(w: World, owner: str, url: str) -> dict[str, Any]:
    deadline = time.time() + 120
    while time.time() < deadline:
        job = w.clients[owner].get(url).json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"{url} did not finish")


def _job_read(w: World, user: str | None, kind: str, tail: str = "") -> tuple[Any, str]:
    """Read a finished job (``tail``: its file) as ``user``: only its starter may."""
    owner, job_id = JOBS[kind]
    _wait(w, owner, f"/api/{kind}/jobs/{job_id}")
    r = call(w, user, "GET", f"/api/{kind}/jobs/{job_id}{tail}",
             "owner" if user == owner else "other")
    expect(r, user == owner, (200,), user, f"{kind} job{tail}")
    return r, owner


def placement_job_get(w: World, user: str | None) -> None:
    _job_read(w, user, "placement")


def placement_accept(w: World, user: str | None) -> None:
    r = call(w, user, "POST", "/api/placement/accept", json={"ranks": [9999]})
    role = role_of(user)
    expect(r, placer(user) and "cameras" in role.writes, (422,), user, "accept")  # type: ignore[union-attr]


def settings_get(w: World, user: str | None) -> None:
    expect(call(w, user, "GET", "/api/settings"), True, (200,), user, "settings")


def settings_put(w: World, user: str | None) -> None:
    r = call(w, user, "PUT", "/api/settings", json={"dori_profile": "no-such-profile"})
    role = role_of(user)
    expect(r, role is not None and role.name in ("admin", "planner") and not limited(user), (422,), user, "settings")


def exporter(user: str | None) -> bool:
    role = role_of(user)
    return role is not None and role.can_export


def _csv_rows(r: Any) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))


def export_layer(w: World, user: str | None) -> None:
    for layer in w.ws.versions():
        role = role_of(user)
        may = exporter(user) and (layer in role.reads if layer != "households" else  # type: ignore[union-attr]
                                  bool(role.reads & {"households", "buildings", "risk"}))  # type: ignore[union-attr]
        r = call(w, user, "GET", f"/api/export/{layer}", params={"format": "csv"})
        expect(r, may, (200,), user, f"export {layer}")
        if r.status_code == 200 and limited(user):
            rows = _csv_rows(r)
            stored, key = w.ws.read(layer), KEYS.get(layer, "id")
            limit = len(w.inside("grids")) if layer == "households" else int(
                stored[key].astype(str).isin(w.inside(layer)).sum()) if key in stored else len(w.inside(layer))
            assert len(rows) <= limit, (user, layer, len(rows), limit)
            assert r.headers["cache-control"] == "no-store"


def report_map(w: World, user: str | None) -> None:
    r = call(w, user, "GET", "/api/reports/map", params={"format": "png", "dpi": 72})
    expect(r, exporter(user), (200,), user, "map")
    # the 组格/片格 map of one grid: of one's own, printed; of another's, refused like any area outside
    for where in ("in", "out"):
        code = str(w.row("grids", where)["properties"]["code"])
        r = call(w, user, "GET", "/api/reports/map", where,
                 params={"kind": "subgrids", "format": "pdf", "area": f"grid:{code}"})
        if exporter(user) and where == "out" and limited(user):
            assert r.status_code in (403, 404, 422) and not r.content.startswith(b"%PDF"), (user, r.status_code)
            continue
        expect(r, exporter(user), (200,), user, f"subgrid map {where}")


def report_tables(w: World, user: str | None) -> None:
    r = call(w, user, "GET", "/api/reports/tables", params={"format": "csv"})
    expect(r, exporter(user), (200,), user, "tables")
    if r.status_code == 200 and limited(user):
        assert len(_csv_rows(r)) == len(w.inside("grids"))


def report_offline(w: World, user: str | None) -> None:
    r = call(w, user, "GET", "/api/reports/offline")
    expect(r, exporter(user), (200,), user, "offline")
    if r.status_code == 200 and limited(user):
        assert str(w.theirs["code"].iloc[0]) not in r.text


def export_job(w: World, user: str | None) -> None:
    r = call(w, user, "POST", "/api/export/jobs", json={"what": "tables", "format": "csv"})
    expect(r, exporter(user), (202,), user, "export job")
    if r.status_code == 202 and "export" not in JOBS:
        JOBS["export"] = (str(user), r.json()["id"])


def export_job_get(w: World, user: str | None) -> None:
    _job_read(w, user, "export")


def export_job_file(w: World, user: str | None) -> None:
    before = len(w.ws.audit_log())
    _r, owner = _job_read(w, user, "export", "/file")
    if user == owner:  # its tables hold household aggregates: every download is on record
        log = w.ws.audit_log().iloc[before:]
        assert ((log["action"] == "download") & (log["user"] == owner)).any()


def audit(w: World, user: str | None) -> None:
    role = role_of(user)
    r = call(w, user, "GET", "/api/audit", params={"limit": 5})
    expect(r, role is not None and role.name == "admin" and not limited(user), (200,), user, "audit")


def me(w: World, user: str | None) -> None:
    r = call(w, user, "GET", "/api/auth/me")
    expect(r, True, (200,), user, "me")


def logout(w: World, user: str | None) -> None:
    if user is None:
        expect(call(w, None, "POST", "/api/auth/logout"), False, (), None, "logout")
        return
    token = TestClient(w.app).post("/api/auth/login", json={"username": user, "password": PASSWORD}).json()["token"]
    other = TestClient(w.app, headers={"Authorization": f"Bearer {token}"})
    COUNTS["POST /api/auth/logout"] += 1
    assert other.post("/api/auth/logout").status_code == 200
    assert other.get("/api/auth/me").status_code == 401


def login(w: World, user: str | None) -> None:
    name = user or "nobody"
    r = call(w, None, "POST", "/api/auth/login", json={"username": name, "password": "wrong password!"})
    assert r.status_code == 401 and r.json()["detail"] == access.LOGIN_FAILED


def health(w: World, user: str | None) -> None:
    assert call(w, user, "GET", "/api/health").status_code == 200


def public(path: str) -> Callable[[World, str | None], None]:
    def check(w: World, user: str | None) -> None:  # documents anyone may read: no data in them
        r = call(w, user, "GET", path)
        assert r.status_code == 200, (path, user, r.status_code)
        assert "features" not in r.json() and w.community not in r.text

    return check


def _ogc_may(w: World, user: str | None, layer: str) -> bool:
    role = role_of(user)
    info = {i.name: i for i in w.ws.layers()}
    return role is not None and layer in role.reads and layer != "households" and bool(info[layer].geometry_type)


def ogc_collections(w: World, user: str | None) -> None:
    r = call(w, user, "GET", "/ogc/collections")
    expect(r, True, (200,), user, "ogc collections")
    if user:
        assert {c["id"] for c in r.json()["collections"]} == {n for n in w.ws.versions() if _ogc_may(w, user, n)}


def ogc_collection(w: World, user: str | None) -> None:
    for layer in w.ws.versions():
        r = call(w, user, "GET", f"/ogc/collections/{layer}")
        expect(r, _ogc_may(w, user, layer), (200,), user, f"ogc {layer}")
        if limited(user) and r.status_code == 200:  # its extent is the area's, nothing beyond
            west, south, east, north = r.json()["extent"]["spatial"]["bbox"][0]
            assert shapely.box(west, south, east, north).buffer(1e-9).covers(w.shape), (user, layer)


def ogc_items(w: World, user: str | None) -> None:
    for layer in w.ws.versions():
        r = call(w, user, "GET", f"/ogc/collections/{layer}/items", params={"limit": 10_000})
        expect(r, _ogc_may(w, user, layer), (200,), user, f"ogc items {layer}")
        if r.status_code != 200 or user is None:
            continue
        body = r.json()
        if layer in ("blind_spots", "blind_spots_night", "proposal_views"):  # no key: by the geometry returned
            geoms = [shapely.from_geojson(json.dumps(f["geometry"])) for f in body["features"] if f["geometry"]]
            inside = shapely.covers(w.shape, shapely.point_on_surface(geoms)) if geoms else []
            assert all(inside) if limited(user) else body["numberMatched"] == len(w.ws.read(layer)), (user, layer)
            continue
        assert all(KEYS.get(layer, "id") in f["properties"] for f in body["features"]), layer
        keys = {str(f["properties"][KEYS.get(layer, "id")]) for f in body["features"]}
        if limited(user):
            assert keys <= w.inside(layer), (user, layer, sorted(keys - w.inside(layer))[:3])
        else:
            assert body["numberMatched"] == len(w.ws.read(layer)), (user, layer)


def ogc_item(w: World, user: str | None) -> None:
    for layer in ("grids", "cameras", "buildings"):
        key = KEYS.get(layer, "id")
        for where in ("in", "out"):
            fid = w.row(layer, where)["properties"][key]
            r = call(w, user, "GET", f"/ogc/collections/{layer}/items/{fid}", where)
            expect(r, _ogc_may(w, user, layer) and (where == "in" or not limited(user)), (200,), user, layer)


ROUTES: dict[tuple[str, str], Callable[[World, str | None], None]] = {
    ("POST", "/api/auth/login"): login, ("POST", "/api/auth/logout"): logout, ("GET", "/api/auth/me"): me,
    ("GET", "/api/audit"): audit,
    ("GET", "/"): page("/"), ("GET", "/coverage"): page("/coverage"), ("GET", "/placement"): page("/placement"),
    ("GET", "/overview"): page("/overview"),
    ("GET", "/api/layers"): layers_list, ("GET", "/api/layers/{name}"): layer_read,
    ("POST", "/api/layers/{name}"): layer_create, ("GET", "/api/layers/{name}/{fid}"): feature_read,
    ("PUT", "/api/layers/{name}/{fid}"): feature_update, ("DELETE", "/api/layers/{name}/{fid}"): feature_delete,
    ("GET", "/api/features/{key}"): features, ("GET", "/api/search"): search,
    ("GET", "/api/tiles/{key}/{z}/{x}/{y}.pbf"): vector_tiles,
    ("GET", "/patrol"): page("/patrol"), ("GET", "/api/patrol"): patrol_summary,
    ("GET", "/3d"): page("/3d"), ("GET", "/api/buildings/{building_id}/stack"): building_stack,
    ("PUT", "/api/responsibility"): responsibility, ("GET", "/api/design/storage"): design_storage,
    ("GET", "/api/subgrids/{code}"): subgrid_card,
    ("GET", "/api/patrol/model"): patrol_model,
    ("GET", "/api/risk/model"): risk_model, ("PUT", "/api/risk/model"): risk_model_put,
    ("POST", "/api/whatif/cameras"): whatif_drop, ("DELETE", "/api/whatif/cameras/{cam_id}"): whatif_remove,
    ("POST", "/api/patrol/jobs"): patrol_job, ("GET", "/api/patrol/jobs/{job_id}"): patrol_job_get,
    ("POST", "/api/placement/run"): placement_run, ("POST", "/api/placement/jobs"): placement_job,
    ("GET", "/api/placement/jobs/{job_id}"): placement_job_get, ("POST", "/api/placement/accept"): placement_accept,
    ("GET", "/api/settings"): settings_get, ("PUT", "/api/settings"): settings_put,
    ("GET", "/api/export/{layer}"): export_layer, ("GET", "/api/reports/map"): report_map,
    ("GET", "/api/reports/tables"): report_tables, ("GET", "/api/reports/offline"): report_offline,
    ("POST", "/api/export/jobs"): export_job, ("GET", "/api/export/jobs/{job_id}"): export_job_get,
    ("GET", "/api/export/jobs/{job_id}/file"): export_job_file, ("GET", "/api/health"): health,
    ("GET", "/ogc"): public("/ogc"), ("GET", "/ogc/conformance"): public("/ogc/conformance"),
    ("GET", "/ogc/api"): public("/ogc/api"), ("GET", "/ogc/collections"): ogc_collections,
    ("GET", "/ogc/collections/{collection}"): ogc_collection,
    ("GET", "/ogc/collections/{collection}/items"): ogc_items,
    ("GET", "/ogc/collections/{collection}/items/{feature}"): ogc_item,
    ("GET", "/problems"): public("/problems"), ("GET", "/problems/{slug}"): public("/problems/not-found"),
}


def test_every_route_has_a_row():
    app = create_app(Settings(workspace="unused.gpkg"))
    routes = {(m.upper(), p) for p, ops in app.openapi()["paths"].items() for m in ops}
    assert routes == set(ROUTES), f"routes without a row: {routes - set(ROUTES)}; rows without a route: " \
                                  f"{set(ROUTES) - routes}"


@pytest.mark.slow
@pytest.mark.parametrize("route", list(ROUTES), ids=[f"{m} {p}" for m, p in ROUTES])
def test_route(world, route):
    for user in USERS:
        ROUTES[route](world, user)


def test_counts(world):
    """Runs after the matrix (file order): the counts for the record, and a floor so none is skipped."""
    routes = sum(v for k, v in COUNTS.items() if not k.startswith(("user:", "where:")))
    print(f"\nmatrix: {routes} requests over {len(ROUTES)} routes × {len(USERS)} users; "
          + ", ".join(f"{k}={v}" for k, v in sorted(COUNTS.items()) if k.startswith("where:")))
    assert routes >= 1000 and all(COUNTS[f"user:{u}"] > 30 for u in USERS)

from typer.testing import CliRunner

from api.cli import app
from layers import store
from tests.conftest import file_digest

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_init_import_layers_export(tmp_path):
    ws = tmp_path / "ws.gpkg"
    assert run("init", ws, "--name", "测试").exit_code == 0
    csv = tmp_path / "cams.csv"
    csv.write_text("设备编码,设备名称,经度,纬度,朝向\n37028500001320000001,北门,120.51,36.88,90\n", encoding="utf-8")
    result = run("import", ws, csv, "--layer", "cameras")
    assert result.exit_code == 0, result.output
    assert "cameras: imported from cams.csv (version 1, 1 rows)" in result.output
    listing = run("layers", ws)
    assert "cameras" in listing.output and "EPSG:4549" in listing.output
    result = run("export", "layer", ws, "cameras", tmp_path / "out.kml")
    assert result.exit_code == 0 and (tmp_path / "out.kml").exists()


def test_bad_input_exits_non_zero_with_one_message(tmp_path):
    ws = tmp_path / "ws.gpkg"
    run("init", ws)
    before = file_digest(ws)
    csv = tmp_path / "bad.csv"
    csv.write_text("设备编码,经度,纬度\n123,36.88,120.51\n", encoding="utf-8")
    result = run("import", ws, csv, "--layer", "cameras")
    assert result.exit_code == 2
    assert "2 problems found" in result.output
    assert "are 经度 and 纬度 swapped?" in result.output and "GB/T 28181 codes have 20 digits" in result.output
    assert "Traceback" not in result.output
    assert file_digest(ws) == before
    assert run("import", ws, tmp_path / "missing.csv", "--layer", "cameras").exit_code == 2
    assert run("layers", tmp_path / "nope.gpkg").exit_code == 4
    assert run("export", "layer", ws, "cameras_x", tmp_path / "x.gpkg").exit_code == 3  # no such layer


def test_validate_without_storing(tmp_path):
    csv = tmp_path / "t.csv"
    csv.write_text("目标编号,名称,类别,等级,经度,纬度\nT1,月湖小学,学校,一类,120.51,36.88\n", encoding="utf-8")
    result = run("validate", csv, "--layer", "targets")
    assert result.exit_code == 0 and "1 rows are valid targets" in result.output


def test_demo_builds_once(tmp_path):
    ws = tmp_path / "demo.gpkg"
    result = run("demo", ws)
    assert result.exit_code == 0, result.output
    assert "buildings" in result.output and ws.exists()
    again = run("demo", ws)
    assert "exists; using it as it is" in again.output
    assert store.open_workspace(ws).version("buildings") == 1


def test_household_export_is_aggregated_unless_detail_is_reasoned(demo_copy, tmp_path):
    import pyogrio

    from api import access

    agg = run("export", "layer", demo_copy, "households", tmp_path / "hh.gpkg")
    assert agg.exit_code == 0, agg.output
    per_grid = pyogrio.read_dataframe(tmp_path / "hh.gpkg")
    ws = store.open_workspace(demo_copy)
    assert len(per_grid) == len(ws.read("grids")) and per_grid["households"].sum() == len(ws.read("households"))
    result = run("export", "layer", demo_copy, "households", tmp_path / "hh.csv", "--detail")
    assert result.exit_code == 2 and "stated reason" in result.output and not (tmp_path / "hh.csv").exists()
    access.add_user(ws, "police", "police", access.Area(), "correct horse battery")
    refused = run("export", "layer", demo_copy, "households", tmp_path / "hh.csv", "--detail", "--reason", "核对",
                  "--user", "police")
    assert refused.exit_code == 5 and "aggregates only" in refused.output
    ok = run("export", "layer", demo_copy, "households", tmp_path / "hh.csv", "--detail", "--reason", "季度走访")
    assert ok.exit_code == 0, ok.output
    log = store.open_workspace(demo_copy).audit_log()
    detail = log[(log["action"] == "export") & log["detail"].str.contains("季度走访")]
    assert len(detail) == 1 and detail["user"].iloc[0].startswith("local:")


def test_views_and_coverage_commands(demo_copy):
    result = run("views", demo_copy)
    assert result.exit_code == 0, result.output
    assert "views layer written" in result.output and "detect" in result.output
    result = run("coverage", demo_copy, "--top", "3")
    assert result.exit_code == 0, result.output
    for text in ("月湖社区", "望城村", "一类目标", "路口", "coverage layers written"):
        assert text in result.output
    one = run("coverage", demo_copy, "--grid", "370285001001001")
    assert one.exit_code == 0 and "370285001001001" in one.output and "月湖社区 " not in one.output
    missing = run("coverage", demo_copy, "--grid", "999")
    assert missing.exit_code == 3 and "no grid 999" in missing.output
    assert store.open_workspace(demo_copy).has("blind_spots")


def test_place_and_accept(demo_copy):
    result = run("place", demo_copy, "--k", "3", "--greedy", "--heading-step", "90", "--model", "bullet-12mm")
    assert result.exit_code == 0, result.output
    assert "MCLP: objective" in result.output and "pingan accept" in result.output
    before = len(store.open_workspace(demo_copy).read("cameras"))
    accepted = run("accept", demo_copy, "1", "2")
    assert accepted.exit_code == 0 and "2 planned camera(s) added" in accepted.output
    assert len(store.open_workspace(demo_copy).read("cameras")) == before + 2
    assert run("place", demo_copy).exit_code == 2  # neither --k, --budget nor --cover-class


def test_users_and_audit_commands(demo_copy):
    from api import access

    made = run("users", "add", "zhang", "--role", "grid_worker", "--area", "grid:370285001001001",
               "--workspace", demo_copy)
    assert made.exit_code == 0, made.output
    password = made.output.rsplit(":", 1)[1].strip()
    ws = store.open_workspace(demo_copy)
    _, user, _ = access.login(ws, "zhang", password)
    assert user.role.name == "grid_worker" and user.area.grids == ("370285001001001",)
    listing = run("users", "list", "--workspace", demo_copy)
    assert "zhang" in listing.output and "grid_worker" in listing.output and password not in listing.output
    assert run("users", "add", "zhang", "--role", "viewer", "--workspace", demo_copy).exit_code != 0
    assert run("users", "add", "li", "--role", "chief", "--workspace", demo_copy).exit_code != 0
    assert run("users", "disable", "zhang", "--workspace", demo_copy).exit_code == 0
    assert "disabled" in run("users", "list", "--workspace", demo_copy).output
    new = runner.invoke(app, ["users", "passwd", "zhang", "--workspace", str(demo_copy), "--password-stdin"],
                        input="a brand new password\n")
    assert new.exit_code == 0, new.output
    assert run("users", "disable", "zhang", "--enable", "--workspace", demo_copy).exit_code == 0
    access.login(ws, "zhang", "a brand new password")
    audit = run("audit", demo_copy, "--user", "zhang")
    assert audit.exit_code == 0 and "login" in audit.output


def test_the_cli_on_a_postgis_workspace(demo_copy, postgis_uri, tmp_path):
    uri = f"{postgis_uri.replace('postgres@', 'postgres:secret@')}?workspace=cli_demo"
    copied = run("workspace", "copy", demo_copy, uri, "--force")
    assert copied.exit_code == 0, copied.output
    assert "secret" not in copied.output and "postgres:***@" in copied.output  # no password on screen
    listing = run("layers", uri)
    assert listing.exit_code == 0 and "buildings" in listing.output and "3860" in listing.output.replace(",", "")
    for args in (("views", uri), ("coverage", uri), ("risk", uri)):  # the analyses run on PostGIS as they are
        result = run(*args)
        assert result.exit_code == 0, result.output
    assert run("export", "tables", uri, tmp_path / "t.xlsx").exit_code == 0
    back = tmp_path / "back.gpkg"
    assert run("workspace", "copy", uri, back).exit_code == 0
    assert store.open_workspace(back).versions() == store.open_workspace(uri).versions()
    again = run("workspace", "copy", demo_copy, uri)
    assert again.exit_code == 6 and "already exists" in again.output and "--force" in again.output


def test_settings_show_change_and_refuse(tmp_path):
    ws = tmp_path / "ws.gpkg"
    run("init", ws)
    shown = run("settings", ws)
    assert shown.exit_code == 0 and 'dori_profile = "iec62676-4:2014"' in shown.output
    changed = run("settings", ws, "dori_profile=iec62676-4:2014-rounded", "storey_height_m=2.9",
                  'camera_defaults={"height_m": 5}')
    assert changed.exit_code == 0, changed.output
    settings = store.open_workspace(ws).settings()
    assert settings["dori_profile"] == "iec62676-4:2014-rounded" and settings["storey_height_m"] == 2.9
    assert settings["camera_defaults"] == {"height_m": 5}
    before = file_digest(ws)
    for bad, says in [("dori_profile=nope", "unknown DORI profile 'nope'"),
                      ('camera_defaults={"heigth_m": 5}', "heigth_m"),
                      ("storey_height_m=abc", "storey_height_m = 'abc'"),
                      ("occlusion=3d", "'2d' or '2.5d'"),
                      ("colour=red", "unknown setting(s) ['colour']"),
                      ("storey_height_m", "write KEY=VALUE")]:
        result = run("settings", ws, bad)
        assert result.exit_code == 2 and says in result.output, (bad, result.output)
    assert file_digest(ws) == before
    log = store.open_workspace(ws).audit_log()
    assert (log["action"] == "settings").sum() == 1


def test_arguments_are_checked_in_the_users_terms(demo_copy, tmp_path):
    before = file_digest(demo_copy)
    for args, words in ((("place", demo_copy, "--k", "-3"), "greater than or equal to 1"),
                        (("place", demo_copy, "--k", "0"), "greater than or equal to 1"),
                        (("place", demo_copy, "--cover-class", "4"), "not a point class"),
                        (("risk", demo_copy, "--period", "2026-13"), "is not a month: write YYYY-MM")):
        result = run(*args)
        assert result.exit_code == 2 and words in result.output, (args, result.output)
        assert "Unknown column" not in result.output and "unconverted data" not in result.output
    assert file_digest(demo_copy) == before


def test_exports_refuse_to_overwrite_without_force(demo_copy, tmp_path):
    target = tmp_path / "网格统计.csv"
    target.write_text("mine", encoding="utf-8")
    result = run("export", "tables", demo_copy, target)
    assert result.exit_code == 6 and "--force" in result.output and target.read_text(encoding="utf-8") == "mine"
    assert run("export", "tables", demo_copy, target, "--force").exit_code == 0
    assert target.read_text(encoding="utf-8-sig").startswith("网格编码")


def test_error_messages_keep_their_brackets(tmp_path):
    ws = tmp_path / "ws.gpkg"
    run("init", ws)
    bad = tmp_path / "x.csv"
    bad.write_text("设备编码,名称,经度,纬度,[a_b]\nC1,n,120.5,36.8,1\n", encoding="utf-8")
    result = run("import", ws, bad, "--layer", "cameras")
    assert result.exit_code == 2 and "[a_b]" in result.output  # Rich markup would have eaten it


def test_workspace_share_leaves_out_people_accounts_and_the_log(demo_copy, tmp_path):
    import sqlite3

    from api import access

    ws = store.open_workspace(demo_copy)
    access.add_user(ws, "planner", "planner", access.Area(), "correct horse battery")
    ws.audit("view", "households", {"reason": "走访"}, user="planner")
    out = tmp_path / "for-the-district.gpkg"
    done = run("workspace", "share", demo_copy, out)
    assert done.exit_code == 0, done.output
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("for-the")) == [out.name]  # one file
    with sqlite3.connect(out) as con:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        counts = [r[0] for r in con.execute("SELECT households FROM households_by_grid")]
    assert not {t for t in tables if any(w in t for w in ("user", "session", "secret", "throttle", "audit"))}
    assert "households" not in tables and "households_by_grid" in tables and "cameras" in tables
    assert all(c is None or c == 0 or c >= 5 for c in counts) and any(c for c in counts)
    shared = store.open_workspace(out)
    assert shared.records("users") == [] and shared.versions()["cameras"] == ws.versions()["cameras"]
    assert run("workspace", "share", demo_copy, out).exit_code != 0  # no overwrite without --force
    assert "workspace_share" in set(ws.audit_log()["action"])


def test_workspace_copy_carries_accounts_only_when_asked(demo_copy, tmp_path):
    from api import access

    access.add_user(store.open_workspace(demo_copy), "planner", "planner", access.Area(), "correct horse battery")
    assert run("workspace", "copy", demo_copy, tmp_path / "a.gpkg").exit_code == 0
    assert store.open_workspace(tmp_path / "a.gpkg").records("users") == []
    assert run("workspace", "copy", demo_copy, tmp_path / "b.gpkg", "--with-users").exit_code == 0
    assert [r["username"] for r in store.open_workspace(tmp_path / "b.gpkg").records("users")] == ["planner"]


def test_version():
    from importlib.metadata import version

    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"pingan {version('pingan-planner')}"

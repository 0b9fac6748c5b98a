"""The camera catalogue as data: the packaged default (each row citing its source), `pingan catalogue`
import and export with Chinese headers (round trip, every row checked, nothing a spreadsheet evaluates),
the setting audited, and cameras naming a model computed with its facts."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from api.cli import app as cli
from api.workflows.catalogue import catalogue_table, export_catalogue, import_catalogue
from layers import catalogue, sheets, store
from layers.errors import LayerValidationError

runner = CliRunner()


def test_the_packaged_catalogue_covers_the_makers_and_kinds_and_cites_its_sources():
    table = pd.DataFrame(catalogue.default_records())
    assert len(table) >= 10 and table["id"].is_unique
    assert set(table["maker"]) == {"海康威视", "大华", "宇视"}
    assert set(table["kind"]) == {"bullet", "dome", "ptz", "fisheye"}
    assert table["source"].str.startswith("http").all()  # every row says where its facts come from
    zoom = table[table["kind"] == "ptz"]
    assert (zoom["focal_max_mm"] > zoom["focal_min_mm"]).all()


def test_export_and_import_round_trip_in_chinese_and_english(ws_path, tmp_path):
    ws = store.open_workspace(ws_path)
    before = catalogue_table(ws)
    for name, lang in (("models.xlsx", "zh"), ("models.csv", "en")):
        path = export_catalogue(ws, tmp_path / name, lang=lang, who="tester")
        read = sheets.read_xlsx(path) if name.endswith("xlsx") else sheets.read_csv(path)
        assert ("型号编号" in read.frame.columns) == (lang == "zh")
        if lang == "zh":
            assert "枪机" in set(read.frame["摄像机类型"])  # values in Chinese too
        after = import_catalogue(ws, path, user="tester")
        pd.testing.assert_frame_equal(after, before, check_dtype=False)
    assert ws.settings()["catalogue"] == catalogue.records(catalogue.check(before))
    assert "settings" in set(ws.audit_log()["action"])


def test_an_import_names_every_bad_row_and_stores_nothing(ws_path, tmp_path):
    ws = store.open_workspace(ws_path)
    kept = ws.settings()["catalogue"]
    assert kept == catalogue.default_records()  # the demo carries the packaged catalogue
    bad = tmp_path / "bad.csv"
    bad.write_text("型号编号,厂商,型号,摄像机类型,水平分辨率,最小焦距(mm)\n"
                   "a,海康威视,X1,枪机,1920,4\n"
                   "a,大华,X2,飞碟,1920,4\n"
                   "c,宇视,X3,半球,abc,0.1\n", encoding="utf-8")
    with pytest.raises(LayerValidationError) as err:
        import_catalogue(ws, bad, user="tester")
    text = str(err.value)
    for expected in ("row 3", "row 4", "摄像机类型", "水平分辨率", "最小焦距", "型号编号"):
        assert expected in text, expected
    assert ws.settings()["catalogue"] == kept  # nothing stored


def test_an_export_never_holds_a_formula(ws_path, tmp_path):
    ws = store.open_workspace(ws_path)
    rows = catalogue.default_records()
    rows[0] = {**rows[0], "maker": "=HYPERLINK(\"http://x\",\"点击\")", "streams": "+1920x1080"}
    ws.update_settings(catalogue=rows)
    path = export_catalogue(ws, tmp_path / "models.csv")
    text = path.read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK" in text and "'+1920x1080" in text


def test_the_cli_shows_imports_and_exports(ws_path, tmp_path):
    shown = runner.invoke(cli, ["--json", "catalogue", str(ws_path)])
    assert shown.exit_code == 0, shown.output
    models = json.loads(shown.output)["models"]
    assert {m["id"] for m in models} >= {"hik-2de4425iw-de", "dahua-ebw81240", "unv-ipc2124lb-sf28-a"}
    out = tmp_path / "m.xlsx"
    written = runner.invoke(cli, ["catalogue", str(ws_path), "--export", str(out)])
    assert written.exit_code == 0 and out.exists(), written.output
    back = runner.invoke(cli, ["catalogue", str(ws_path), "--import", str(out)])
    assert back.exit_code == 0 and "10 models imported" in back.output, back.output
    wrong = tmp_path / "m.txt"
    wrong.write_text("x")
    failed = runner.invoke(cli, ["catalogue", str(ws_path), "--import", str(wrong)])
    assert failed.exit_code != 0 and "a camera catalogue is a .csv or .xlsx file" in failed.output


def test_the_demo_ptz_cameras_take_their_models_facts(ws_path):
    ws = store.open_workspace(ws_path)
    cams = ws.read("cameras")
    ptz = cams[cams["presets"].notna()]
    assert (ptz["model"] == "DS-2DE4425IW-DE").all() and ptz["resolution_px"].isna().all()
    from api.workflows.settings import assumptions
    from gis import footprint as fp

    metric = ws.metric_crs()
    base = ws.features("cameras").to_crs(metric)
    row = base[base["id"] == ptz["id"].iat[0]].assign(presets=None, heading_deg=0.0)
    with_model = fp.resolve(row, assumptions(ws.settings()))
    without = fp.resolve(row.assign(model=None), assumptions(ws.settings()))
    assert with_model["res_h"].iat[0] == 2560 and without["res_h"].iat[0] == 1920
    assert with_model["hfov_deg"].iat[0] == 59.5  # the zoom lens at its wide end, said so
    assert "zoom lens of DS-2DE4425IW-DE at its wide end" in with_model["assumed"].iat[0]


def test_placement_proposes_and_accepts_a_catalogue_model(ws_path):
    from api.workflows.placement import accept, place

    ws = store.open_workspace(ws_path)
    result = place(ws, budget=20_000.0, models=["IPC2124LB-SF28-A"], heading_step_deg=90.0, seconds=5.0)
    props = result.proposals
    assert len(props) and (props["model"] == "unv-ipc2124lb-sf28-a").all() and (props["price"] == 350.0).all()
    ids = accept(ws, [1])
    cam = ws.read("cameras").set_index("id").loc[ids[0]]
    assert cam["model"] == "unv-ipc2124lb-sf28-a" and cam["hfov_deg"] == 97.0 and cam["resolution_px"] == 2560
    with pytest.raises(ValueError, match=r"unknown camera model 'no-such'.*bullet-4mm.*hik-2de4425iw-de"):
        place(ws, budget=1.0, models=["no-such"], write=False)

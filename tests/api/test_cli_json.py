"""`pingan --json COMMAND …` prints one JSON object on stdout for every command that prints a result,
as `python -m json.tool` reads it; progress and notes go to stderr."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from api.cli import app


def _json(*args: object, stdin: str | None = None) -> dict:
    result = CliRunner().invoke(app, ["--json", *map(str, args)], input=stdin)
    assert result.exit_code == 0, (args, result.output)
    parsed = subprocess.run([sys.executable, "-m", "json.tool"], input=result.stdout, capture_output=True,
                            text=True, check=False)
    assert parsed.returncode == 0, (args, result.stdout[:500], parsed.stderr)
    return json.loads(result.stdout)


def test_every_command_that_prints_a_result_prints_json(tiny_path, tmp_path):
    ws = tiny_path
    assert _json("init", tmp_path / "new.gpkg")["workspace"].endswith("new.gpkg")
    csv = tmp_path / "cams.csv"
    csv.write_text("设备编码,设备名称,经度,纬度,朝向,安装高度\n37028500001320000009,新点位,120.5105,36.8815,90,6\n",
                   encoding="utf-8")
    assert _json("validate", csv, "--layer", "cameras")["valid_rows"] == 1
    assert _json("import", ws, csv, "--layer", "cameras", "--append")["rows"] == 2
    assert {row["name"] for row in _json("layers", ws)["layers"]} >= {"cameras", "grids"}
    assert _json("settings", ws, "storey_height_m=3.1")["storey_height_m"] == 3.1
    views = _json("views", ws)
    assert views["polygons"] > 0 and views["levels"]
    coverage = _json("coverage", ws)
    assert coverage["communities"] and "class1_share" in coverage["indicators"]
    assert set(_json("coverage", ws, "--grid", "370285001001001")) >= {"grid", "indicators", "blind_spots"}
    placed = _json("place", ws, "--k", "1", "--greedy", "--heading-step", "90", "--seconds", "5")
    assert placed["problem"] == "MCLP" and len(placed["proposals"]) == 1 and "lon" in placed["proposals"][0]
    assert len(_json("accept", ws, "1")["cameras"]) == 1
    risk = _json("risk", ws)
    assert risk["stamp"]["period"] and {g["level"] for g in risk["grids"]} <= {"red", "yellow", "green"}
    assert "[indicators]" in _json("risk", ws, "--show-model")["model"]
    assert _json("grids", "plan", ws, "--min", "1", "--max", "10")["grids"]
    for args in (["layer", ws, "grids", tmp_path / "g.gpkg"], ["tables", ws, tmp_path / "t.xlsx"],
                 ["html", ws, tmp_path / "m.html"], ["map", ws, tmp_path / "risk.png", "--kind", "risk"]):
        assert _json("export", *args)["bytes"] > 0
    made = _json("users", "add", "worker", "--role", "grid_worker", "--area", "grid:370285001001001",
                 "--workspace", ws)
    assert made["user"] == "worker" and made["password"]
    assert [u["user"] for u in _json("users", "list", "--workspace", ws)["users"]] == ["worker"]
    assert _json("users", "passwd", "worker", "--workspace", ws)["password"]
    assert _json("users", "disable", "worker", "--workspace", ws)["disabled"] is True
    assert {e["action"] for e in _json("audit", ws)["entries"]} >= {"accept", "user_disable"}
    assert _json("workspace", "copy", ws, tmp_path / "copy.gpkg")["layers"]["grids"] == 2
    assert _json("workspace", "share", ws, tmp_path / "share.gpkg")["layers"]
    demo = _json("demo", tmp_path / "demo.gpkg", "--no-analysis")
    assert demo["layers"]["cameras"] > 0 and {u["role"] for u in demo["users"]} >= {"admin"}


@pytest.mark.parametrize("args", [["--json", "layers", "nowhere.gpkg"]])
def test_an_error_is_still_one_message_and_an_exit_code(args):
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 4 and result.stdout == "" and "error:" in result.stderr


def test_piped_tables_are_plain_columns(tiny_path):
    """No box drawing when the output is not a terminal (CliRunner's is not), and no Python dicts."""
    result = CliRunner().invoke(app, ["layers", str(tiny_path)])
    assert result.exit_code == 0 and "grids" in result.stdout
    assert not set("┏━┃│└┡") & set(result.stdout)
    views = CliRunner().invoke(app, ["views", str(tiny_path)])
    assert views.exit_code == 0 and "{" not in views.stdout and "cameras v" in views.stdout

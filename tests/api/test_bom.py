"""The installed cost and the bill of materials: a two-phase plan on the demo counts each candidate's
whole installed cost (model price + site works + installation + network, from the setting costs);
its BOM counts models, sites (once each), installation and network per phase, recomputed here
independently from the proposals, with the bandwidth and storage the cameras add; XLSX, CSV and PDF
in Chinese, nothing a spreadsheet evaluates, only the user's area, audited."""

from __future__ import annotations

import shutil

import openpyxl
import pytest
from pypdf import PdfReader

from api import access
from api.exports import Source
from api.workflows.bom import bill_of_materials, export_bom
from api.workflows.placement import place
from api.workflows.settings import change_settings
from gis import storage
from layers import store

PASSWORD = "correct horse battery staple 42"


@pytest.fixture(scope="module")
def planned(analysed_path, tmp_path_factory):
    path = tmp_path_factory.mktemp("bom") / "demo.gpkg"
    shutil.copyfile(analysed_path, path)
    ws = store.open_workspace(path)
    change_settings(ws, {"costs": {"install_yuan": 800.0, "network_yuan": 2000.0, "site": {"pole": 10000.0}}},
                    user="tester")
    result = place(ws, phases=[("2027", 120_000.0), ("2028", 60_000.0)], models=["bullet-12mm"],
                   heading_step_deg=90.0, seconds=10.0)
    return path, result


def ws_sites(path):
    return store.open_workspace(path).read("sites")


def test_the_budget_counts_the_whole_installed_cost(planned):
    _, result = planned
    props = result.proposals
    assert len(props) and set(props["phase"]) == {"2027", "2028"}
    assert (props["install"] == 800.0).all() and (props["network"] == 2000.0).all()
    assert (props["cost"] == props["price"] + props["site_cost"] + props["install"] + props["network"]).all()
    # the demo's sites carry their own cost (a pole 12,000, a wall 4,000), which wins over the setting's kind
    sites = ws_sites(planned[0])
    own = props["site_id"].map(sites.set_index("id")["cost"])
    assert (props.loc[own.notna(), "site_cost"] == own[own.notna()]).all()
    assert (props.loc[own.isna() & (props["site_kind"] == "pole"), "site_cost"] == 10000.0).all()
    for phase in result.phases:  # each phase within its own budget, whole costs counted
        assert props.loc[props["phase"] == phase["phase"], "cost"].sum() <= phase["budget"] + 1e-6


def test_the_bom_counts_models_sites_installation_and_network_per_phase(planned):
    path, result = planned
    ws = store.open_workspace(path)
    bom = bill_of_materials(Source.local(ws))
    props = result.proposals
    for phase, rows in props.groupby("phase"):
        lines = bom.lines[bom.lines["phase"] == phase].set_index("item")
        sites = rows.drop_duplicates("site_id")
        assert lines.loc["摄像机", "quantity"] == len(rows)
        assert lines.loc[["立杆/支架"], "quantity"].sum() == len(sites)  # a site's works once, whatever its cameras
        assert lines.loc["安装调试", "amount"] == pytest.approx(800.0 * len(rows))
        assert lines.loc["光纤及网络接入", "amount"] == pytest.approx(2000.0 * len(sites))
        built = rows["price"].sum() + sites["site_cost"].sum() + 800.0 * len(rows) + 2000.0 * len(sites)
        assert lines.loc["合计", "amount"] == pytest.approx(built)
        figures = bom.phases.set_index("phase").loc[phase]
        assert figures["budgeted"] == pytest.approx(rows["cost"].sum()) and figures["cost"] <= figures["budgeted"]
        # bullet-12mm: 3840 × 2160, H.265 at 25 fps, a class-1 point kept 90 days (the recording setting)
        mbps = storage.bitrate_mbps(3840, 2160, codec="H.265", fps=25.0, scene="medium")
        assert figures["tb"] == pytest.approx(len(rows) * storage.storage_tb(mbps, 90))
        assert figures["network_mbps"] == pytest.approx(len(rows) * (mbps + 0.5))


def test_the_bom_files_are_chinese_safe_and_audited(planned, tmp_path):
    path, _ = planned
    ws = store.open_workspace(path)
    source = Source.local(ws)
    book = openpyxl.load_workbook(export_bom(source, tmp_path / "清单.xlsx"))
    sheet = book.active
    assert [c.value for c in sheet[1]] == ["期次", "项目", "规格型号", "单位", "数量", "单价(元)", "金额(元)"]
    assert not any(c.data_type == "f" for row in sheet.iter_rows() for c in row)
    csv = export_bom(source, tmp_path / "清单.csv").read_text(encoding="utf-8-sig")
    assert csv.startswith("期次,项目") and "合计" in csv
    pdf = PdfReader(export_bom(Source.local(ws, lang="en"), tmp_path / "bom.pdf"))
    text = "".join(p.extract_text() for p in pdf.pages)
    assert "Bill of materials" in text and "Fibre and network" in text
    exports = ws.audit_log()
    assert (exports["action"] == "export").sum() >= 3
    with pytest.raises(Exception, match="export the bill of materials as"):
        export_bom(source, tmp_path / "bom.docx")


def test_a_community_user_gets_the_bom_of_their_community_only(planned):
    path, result = planned
    ws = store.open_workspace(path)
    grids = ws.read("grids")
    community = str(grids["community_code"].iloc[0])
    access.add_user(ws, "local", "police", access.Area.parse(f"community:{community}"), PASSWORD)
    mine = bill_of_materials(Source.local(ws, "local"))
    everything = bill_of_materials(Source.local(ws))
    assert mine.phases["cameras"].sum() <= everything.phases["cameras"].sum()
    own = {str(c) for c in grids.loc[grids["community_code"].astype(str) == community, "code"]}
    props = result.proposals
    inside = props["grids"].map(lambda g: bool(set(str(g).split(",")) & own))
    assert mine.phases["cameras"].sum() <= int(inside.sum())

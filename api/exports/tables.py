"""Per-grid and per-community tables for reports: XLSX (summary sheet first) and CSV (UTF-8 with BOM).

Each row of the grid table is one grid of the user's area: its risk level, score and
reasons, households and residents (aggregates, small counts suppressed), camera coverage
shares by DORI level, key targets covered by class, blind spots and cameras by status and
point class. The community table adds the grids up; the summary sheet says what the
tables cover, who exported them and when, and the totals.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, cast

import geopandas as gpd
import numpy as np
import pandas as pd

from api.exports import cells, privacy
from api.exports.source import Source
from api.i18n import t, texts
from api.maps.displays import LEVEL_COLOURS
from api.workflows import reasons
from gis import partition

#: column key → format; the format drives XLSX styles and CSV values (headers: ``column.<key>`` in
#: the message catalogue)
COLUMNS: dict[str, str] = {
    "subgrid_code": "text",
    "code": "text",
    "name": "text",
    "community_code": "text",
    "community_name": "text",
    "township": "text",
    "kind": "text",
    "parent_code": "text",
    "grid_code": "text",
    "worker_id": "text",
    "grids": "int",
    "buildings": "int",
    "red": "int",
    "yellow": "int",
    "green": "int",
    "level": "level",
    "score": "float1",
    "reasons": "long",
    "to_lower_level": "long",
    "households": "count",
    "residents": "count",
    "rented": "count",
    "floating": "count",
    "vacant": "count",
    "elderly_alone": "count",
    "care": "count",
    "incidents": "int",
    "serious_incidents": "int",
    "public_m2": "int",
    "share_detect": "pct",
    "share_observe": "pct",
    "share_recognise": "pct",
    "share_identify": "pct",
    "share_time": "pct",
    "share_redundant": "pct",
    "uncovered_m2": "int",
    "targets_1": "int",
    "covered_1": "int",
    "targets_2": "int",
    "covered_2": "int",
    "targets_3": "int",
    "covered_3": "int",
    "blind_spots": "int",
    "blind_m2": "int",
    "cameras_active": "int",
    "cameras_faulty": "int",
    "cameras_planned": "int",
    "cameras_class1": "int",
    "cameras_class2": "int",
    "cameras_class3": "int",
}
_SEEN = ("seen_detect_m2", "seen_observe_m2", "seen_recognise_m2", "seen_identify_m2", "seen_time_m2", "redundant_m2")
_SUMMED = ("households", "residents", "rented", "floating", "care", "incidents", "serious_incidents", "public_m2",
           "uncovered_m2", "targets_1", "covered_1", "targets_2", "covered_2", "targets_3", "covered_3", "blind_spots",
           "blind_m2", "cameras_active", "cameras_faulty", "cameras_planned", "cameras_class1", "cameras_class2",
           "cameras_class3", *_SEEN)
def header(key: str, lang: str) -> str:
    return t(lang, f"column.{key}")


def _targets_by_grid(source: Source, grids: pd.DataFrame) -> pd.DataFrame:
    cols = [f"{w}_{k}" for k in "123" for w in ("targets", "covered")]
    out = pd.DataFrame(0, index=grids["code"].astype(str), columns=cols, dtype=np.int64)
    if not source.may_read("coverage_targets") or grids.empty:
        return out
    t = source.read("coverage_targets")
    if t.empty:
        return out
    metric = source.store.metric_crs()
    points = cast(gpd.GeoDataFrame, t).to_crs(metric).geometry.representative_point().to_numpy()
    idx = partition.grid_index(cast(gpd.GeoDataFrame, grids).to_crs(metric), points)
    t = t.assign(grid=pd.Series(np.where(idx >= 0, grids["code"].astype(str).to_numpy()[np.maximum(idx, 0)], None),
                                index=t.index))
    t = t[t["grid"].notna()]
    for k in "123":
        mine = t[t["class"].astype(str) == k]
        out[f"targets_{k}"] = mine["grid"].value_counts().reindex(out.index, fill_value=0).to_numpy()
        got = mine[mine["covered"].fillna(False).astype(bool)]
        out[f"covered_{k}"] = got["grid"].value_counts().reindex(out.index, fill_value=0).to_numpy()
    return out


def grid_figures(source: Source) -> pd.DataFrame:
    """One row per grid in the user's area, every figure the role may see (counts not yet suppressed)."""
    grids = source.read("grids")
    out = pd.DataFrame({"code": grids["code"].astype(str).to_numpy()})
    for col in ("name", "community_code", "kind", "worker_id"):
        out[col] = grids[col].to_numpy() if col in grids else None
    if source.may_read("communities"):
        comms = source.store.read("communities").set_index("code")
        out["community_name"] = out["community_code"].map(comms["name"])
        if "township" in comms:
            out["township"] = out["community_code"].map(comms["township"])
    if source.may_read("risk"):
        risk = reasons.in_language(source.read("risk"), source.lang).set_index("code")
        for col in ("level", "score", "reasons", "to_lower_level", "incidents", "serious_incidents", "period"):
            if col in risk:
                out[col] = out["code"].map(risk[col])
    if privacy.may_see_aggregates(source):
        agg = privacy.household_aggregates(source).set_index("code")
        for col in ("households", "residents", "rented", "floating", "care"):
            out[col] = out["code"].map(agg[col]).fillna(0).astype(np.int64)
    if source.may_read("coverage_grids"):
        cov = source.read("coverage_grids").set_index("code")
        for col in ("public_m2", *_SEEN, "share_detect", "share_observe", "share_recognise", "share_identify",
                    "share_time", "share_redundant", "uncovered_m2", "cameras_active", "cameras_faulty",
                    "cameras_planned", "cameras_class1", "cameras_class2", "cameras_class3"):
            if col in cov:
                out[col] = out["code"].map(cov[col])
    if source.may_read("coverage_targets"):
        by_grid = _targets_by_grid(source, grids)
        for col in by_grid.columns:
            out[col] = out["code"].map(by_grid[col]).fillna(0).astype(np.int64)
    if source.may_read("blind_spots"):
        spots = source.read("blind_spots")
        grouped = spots.groupby(spots["grid_code"].astype(str))
        out["blind_spots"] = out["code"].map(grouped.size()).fillna(0).astype(np.int64)
        out["blind_m2"] = out["code"].map(grouped["area_m2"].sum()).fillna(0.0)
    return out


def community_figures(grid_rows: pd.DataFrame) -> pd.DataFrame:
    """The grid figures added up per community; shares recomputed from the areas, levels counted."""
    if grid_rows.empty:
        return pd.DataFrame(columns=["community_code", "community_name", "grids"])
    keys = ["community_code"] + [c for c in ("community_name", "township") if c in grid_rows]
    g = grid_rows.assign(**{c: grid_rows[c].fillna("") for c in keys})
    out = g.groupby(keys, sort=True).size().rename("grids").reset_index()
    if "level" in g:
        levels = pd.crosstab(g["community_code"], g["level"])
        for lv in ("red", "yellow", "green"):
            out[lv] = out["community_code"].map(levels.get(lv, {})).fillna(0).astype(np.int64)
    summed = [c for c in _SUMMED if c in g]
    if summed:
        sums = g.groupby("community_code")[summed].sum(min_count=1)
        for col in summed:
            out[col] = out["community_code"].map(sums[col])
    if "public_m2" in out and "seen_detect_m2" in out:
        public = out["public_m2"].replace(0, np.nan)
        for level in ("detect", "observe", "recognise", "identify"):
            out[f"share_{level}"] = (out[f"seen_{level}_m2"] / public).fillna(0.0)
        out["share_redundant"] = (out["redundant_m2"] / public).fillna(0.0)
        if "seen_time_m2" in out:
            out["share_time"] = (out["seen_time_m2"] / public).fillna(0.0)
    return out


def _shown(frame: pd.DataFrame, group: str | None, lang: str) -> tuple[pd.DataFrame, int]:
    """Suppress small household counts ('<5') and keep only the report's columns, in order."""
    shown, n = privacy.suppress(frame, group=group, marker=f"<{privacy.SMALL_COUNT}")
    if "kind" in shown:
        shown["kind"] = shown["kind"].map(lambda v: t(lang, v) if isinstance(v, str) and v else v)
    return shown[[c for c in COLUMNS if c in shown]], n


def grid_table(source: Source, grid_rows: pd.DataFrame | None = None) -> tuple[pd.DataFrame, int]:
    rows = grid_figures(source) if grid_rows is None else grid_rows
    return _shown(rows, "community_code", source.lang)


def community_table(source: Source, grid_rows: pd.DataFrame | None = None) -> tuple[pd.DataFrame, int]:
    rows = grid_figures(source) if grid_rows is None else grid_rows
    return _shown(community_figures(rows), None, source.lang)


def summary_rows(source: Source, grid_rows: pd.DataFrame, suppressed: int) -> list[tuple[str, Any]]:
    """The summary sheet: what the tables cover, who made them, and the totals (suppressed where small)."""
    lang = source.lang
    tx = texts(lang, "table")
    period = ""
    if "period" in grid_rows and grid_rows["period"].notna().any():
        period = str(grid_rows["period"].dropna().iloc[0])
    rows: list[tuple[str, Any]] = [
        (tx["workspace"], source.workspace_name()), (tx["area"], source.area_text()),
        (tx["period"], period), (tx["data_date"], source.data_date(["grids", "risk", "coverage_grids", "cameras"])),
        (tx["exported_by"], source.who), (tx["exported_at"], source.when),
        (tx["source"], f"{tx['source_line']}（{source.store_name()}）"
         if lang == "zh" else f"{tx['source_line']} ({source.store_name()})"),
        ("", ""), (header("grids", lang), len(grid_rows))]
    if "level" in grid_rows:
        for lv in ("red", "yellow", "green"):
            rows.append((header(lv, lang), int((grid_rows["level"] == lv).sum())))
    for col in ("households", "residents", "rented", "floating", "care"):
        if col in grid_rows:
            total = int(grid_rows[col].sum())
            rows.append((header(col, lang), total if total == 0 or total >= privacy.SMALL_COUNT else "<5"))
    if "public_m2" in grid_rows and grid_rows["public_m2"].notna().any():
        public = float(grid_rows["public_m2"].sum())
        rows.append((tx["coverage"], float(grid_rows["seen_detect_m2"].sum()) / public if public else 0.0))
    if "cameras_active" in grid_rows:
        rows.append((tx["cameras"], " / ".join(str(int(grid_rows[c].fillna(0).sum())) for c in
                                               ("cameras_active", "cameras_faulty", "cameras_planned"))))
    for k in "123":
        if f"targets_{k}" in grid_rows:
            rows.append((tx["targets"].format(k="一二三"[int(k) - 1] if lang == "zh" else k),
                         f"{int(grid_rows[f'covered_{k}'].sum())} / {int(grid_rows[f'targets_{k}'].sum())}"))
    if "blind_spots" in grid_rows:
        rows.append((tx["blind"], f"{int(grid_rows['blind_spots'].sum())} / {grid_rows['blind_m2'].sum():,.0f}"))
    if suppressed:
        rows.append((tx["note"], tx["suppressed"]))
    return rows


def _csv_values(table: pd.DataFrame, lang: str) -> pd.DataFrame:
    out = table.copy()
    for col in out.columns:
        kind = COLUMNS[col]
        if kind == "pct":
            out[col] = [None if v is None or pd.isna(v) else round(100 * float(v), 1) for v in out[col]]
        elif kind == "level":
            out[col] = out[col].map(texts(lang, "level")).fillna("")
        elif kind in ("int",):
            out[col] = pd.to_numeric(out[col], errors="coerce").round().astype("Int64")
        elif kind == "float1":
            out[col] = pd.to_numeric(out[col], errors="coerce").round(1)
    out.columns = [header(c, lang) + (" (%)" if COLUMNS[c] == "pct" else "") for c in out.columns]
    return out


def level_table(source: Source, level: str, grids: set[str] | None = None) -> tuple[pd.DataFrame, int]:
    """The 组格 (``groups``) or 片格 (``patches``) of the user's grids (of those among ``grids`` when
    given) with their rolled-up figures (:func:`api.workflows.hierarchy.rollup`), household counts 1–4
    suppressed within each parent (so one grid's rows are the same as in the whole table)."""
    from api.workflows.hierarchy import rollup

    mine = set(source.read("grids")["code"].astype(str))
    mine = mine if grids is None else mine & grids
    subs = source.read("subgrids")
    subs = subs[subs["grid_code"].astype(str).isin(mine)]
    key = {"groups": "group", "patches": "patch"}[level]
    figures = rollup(source.store, grid_codes=mine)[key]
    subs = subs[subs["level"] == key].set_index(subs[subs["level"] == key]["code"].astype(str))
    out = figures.reindex(subs.index).fillna(0.0).reset_index(names="subgrid_code")
    for col in ("name", "parent_code", "grid_code", "worker_id"):
        out[col] = subs[col].reindex(out["subgrid_code"]).to_numpy() if col in subs else None
    out["share_detect"] = (out["seen_detect_m2"] / out["public_m2"].replace(0, np.nan)).fillna(0.0)
    for col in out.columns:  # counts as whole numbers (the roll-up sums them as floats)
        if COLUMNS.get(col) in ("count", "int"):
            out[col] = out[col].round().astype(np.int64)
    if not privacy.may_see_aggregates(source):
        out = out.drop(columns=[c for c in privacy.DERIVED if c in out])
    return _shown(out, "parent_code", source.lang)


def write_csv(source: Source, path: str | Path, *, table: str = "grids") -> Path:
    """One table as CSV, UTF-8 with a byte-order mark so Excel opens the Chinese headers right."""
    if table not in ("grids", "communities", "groups", "patches"):
        raise ValueError(f"unknown table '{table}': use 'grids', 'communities', 'groups' (组格) or 'patches' (片格)")
    source.require_export()
    if table in ("groups", "patches"):
        shown, suppressed = level_table(source, table)
    else:
        rows = grid_figures(source)
        shown, suppressed = grid_table(source, rows) if table == "grids" else community_table(source, rows)
    frame = cells.safe_frame(_csv_values(shown, source.lang))
    out = cells.atomic(Path(path), lambda tmp: frame.to_csv(tmp, index=False, encoding="utf-8-sig",
                                                       quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n"))
    source.audit(f"table:{table}", {"format": "csv", "rows": len(frame), "suppressed_cells": suppressed})
    return out


def write_xlsx(source: Source, path: str | Path) -> Path:
    """A workbook: summary sheet, then grids and communities (and their 组格 and 片格 when the workspace
    has them and the role reads them), Chinese headers, widths, filters, print setup."""
    source.require_export()
    rows = grid_figures(source)
    grid_shown, n_grid = grid_table(source, rows)
    comm_shown, n_comm = community_table(source, rows)
    tx = texts(source.lang, "table")
    sheets = [(tx["grids"], grid_shown), (tx["communities"], comm_shown)]
    suppressed = n_grid + n_comm
    if source.store.has("subgrids") and "subgrids" in source.user.role.reads:
        for level in ("groups", "patches"):
            shown, n = level_table(source, level)
            sheets.append((tx[level], shown))
            suppressed += n
    summary = summary_rows(source, rows, suppressed)
    out = cells.atomic(Path(path), lambda tmp: _workbook(source, tmp, summary, sheets))
    source.audit("table:xlsx", {"format": "xlsx", "grids": len(grid_shown), "communities": len(comm_shown),
                                "sheets": [title for title, _ in sheets], "suppressed_cells": suppressed})
    return out


def _workbook(source: Source, path: Path, summary: list[tuple[str, Any]],
              sheets: list[tuple[str, pd.DataFrame]]) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    lang = source.lang
    tx = texts(lang, "table")
    bold = Font(bold=True)
    head_fill = PatternFill("solid", fgColor="DDE4EE")
    wb = Workbook()
    ws = wb.active
    ws.title = tx["summary"]
    ws["A1"] = cells.cell(tx["title"])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([])
    ws.append([tx["figure"], tx["value"]])
    for cell in ws[3]:
        cell.font, cell.fill = bold, head_fill
    for label, value in summary:
        ws.append([cells.cell(label), cells.cell(value)])
        if isinstance(value, float):
            ws.cell(ws.max_row, 2).number_format = "0.0%"
    ws.column_dimensions["A"].width = max(cells.width(r[0]) for r in summary) + 4
    ws.column_dimensions["B"].width = min(80, max(cells.width(r[1]) for r in summary) + 4)
    for row in ws.iter_rows(min_row=4, max_col=2):
        row[1].alignment = Alignment(wrap_text=True, vertical="top", horizontal="left")
    for title, table in sheets:
        sheet = wb.create_sheet(title)
        sheet.append([cells.cell(header(c, lang)) for c in table.columns])
        for cell in sheet[1]:
            cell.font, cell.fill = bold, head_fill
            cell.alignment = Alignment(wrap_text=True, vertical="center")
        for values in table.itertuples(index=False):
            sheet.append([cells.cell(v) for v in values])
        for j, col in enumerate(table.columns, start=1):
            kind = COLUMNS[col]
            letter = get_column_letter(j)
            widest = max([cells.width(header(col, lang)) // 2 + 2] + [cells.width(v) for v in table[col].head(500)])
            sheet.column_dimensions[letter].width = {"long": 60, "pct": 11}.get(kind, min(40, widest + 2))
            for (cell,) in sheet.iter_rows(min_row=2, min_col=j, max_col=j):
                if kind == "pct":
                    cell.number_format = "0.0%"
                elif kind == "float1":
                    cell.number_format = "0.0"
                elif kind == "int":
                    cell.number_format = "#,##0"
                elif kind == "long":
                    cell.alignment = Alignment(wrap_text=True, vertical="top")
                elif kind == "level" and cell.value in LEVEL_COLOURS:
                    cell.fill = PatternFill("solid", fgColor=LEVEL_COLOURS[cell.value].lstrip("#"))
                    cell.value = t(lang, f"level.{cell.value}")
        sheet.freeze_panes = "C2" if {"name", "community_name"} & set(table.columns) else "B2"
        if len(table):
            sheet.auto_filter.ref = sheet.dimensions
        sheet.page_setup.orientation = "landscape"
        sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
        sheet.sheet_properties.pageSetUpPr.fitToPage = True
        sheet.print_title_rows = "1:1"
        sheet.oddHeader.center.text = tx["title"]
        sheet.oddFooter.left.text = f"{tx['exported_by']} {source.who} · {source.when}"
        sheet.oddFooter.right.text = "&P / &N"
    wb.properties.creator = source.user.username
    wb.properties.title = tx["title"]
    wb.save(path)

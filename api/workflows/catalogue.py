"""The workspace's camera catalogue as a user keeps it (`pingan catalogue`): shown, imported from a
CSV/XLSX with Chinese headers (the one validation, then stored in the ``catalogue`` setting, audited)
and exported the same way (every cell neutralised, so it imports back)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from api.exports import files
from api.workflows.settings import change_settings
from layers import catalogue, schemas, values
from layers.errors import ImportFormatError
from layers.store import Store, now_iso


def catalogue_table(store: Store) -> pd.DataFrame:
    """The models the workspace's cameras may name: its ``catalogue`` setting, else the packaged default,
    one row per model with the fields of the ``camera_models`` table."""
    rows = catalogue.of_setting(store.settings().get("catalogue"))
    schema = schemas.get(catalogue.TABLE)
    table = pd.DataFrame(rows, columns=schema.columns)
    for f in schema.fields:
        if f.kind == "int":
            table[f.name] = values.typed(table[f.name].tolist(), "int")
    return table


def import_catalogue(store: Store, path: str | Path, *, user: str, sheet: str | int | None = None) -> pd.DataFrame:
    """Replace the workspace's catalogue with a file's (CSV or XLSX).

    Parameters
    ----------
    store
        The workspace.
    path
        The file: one row per model, headers in Chinese (型号编号, 厂商, 型号, 摄像机类型, 水平分辨率 …) or English.
    user
        Who imports it, for the audit log.
    sheet
        The XLSX sheet (name or 0-based number); the first visible one when None.

    Returns
    -------
    pandas.DataFrame
        The catalogue as stored.

    Raises
    ------
    layers.errors.LayerValidationError
        Naming every row, field and fix; nothing is stored then.
    """
    table = catalogue.read(path, sheet=sheet)
    change_settings(store, {"catalogue": catalogue.records(table)}, user=user)
    return catalogue_table(store)


def export_catalogue(store: Store, path: str | Path, *, lang: str = "zh", who: str = "") -> Path:
    """Write the workspace's catalogue to ``path`` (.csv or .xlsx), Chinese headers and values by default."""
    path = Path(path)
    kind = path.suffix.lower().lstrip(".")
    if kind not in ("csv", "xlsx"):
        raise ImportFormatError(f"{path.name}: export the camera catalogue as .csv or .xlsx")
    table = files.as_table(catalogue_table(store), catalogue.TABLE, lang, None)
    by = "导出人" if lang == "zh" else "Exported by"
    return files.write_table(table, path, kind=kind, title="摄像机型号库" if lang == "zh" else "Camera models",
                             footer=f"{by} {who} · {now_iso()}")

"""Workspace settings as a user changes them: checked, stored with the edit's audit record, and
turned into the options the analyses use (footprint assumptions, coverage options)."""

from __future__ import annotations

import dataclasses
from typing import Any

from gis import camera, capture, coverage, night, placement, storage
from gis import catalogue as gis_catalogue
from gis import footprint as fp
from layers import catalogue
from layers.errors import LayerValidationError, WorkspaceError
from layers.store import DEFAULT_SETTINGS, Store


def assumptions(settings: dict[str, Any]) -> fp.Assumptions:
    """Camera defaults from the workspace settings (``camera_defaults``), else the built-in ones, and
    the camera models cameras may name (``catalogue``, else the packaged default)."""
    given = dict(settings.get("camera_defaults") or {})
    allowed = set(fp.Assumptions.__dataclass_fields__) - {"models"}
    unknown = set(given) - allowed
    if unknown:
        raise WorkspaceError(f"unknown camera_defaults setting(s) {sorted(unknown)}: known are {sorted(allowed)}")
    try:
        models = {**placement.planning_models(), **gis_catalogue.from_records(
            catalogue.of_setting(settings.get("catalogue")))}
    except LayerValidationError as exc:
        raise WorkspaceError(f"the catalogue setting is not a valid camera catalogue: {exc}") from exc
    return fp.Assumptions(**given, models=models)


def coverage_options(settings: dict[str, Any], *, include_planned: bool = False) -> coverage.Options:
    """Coverage options from the workspace settings (``coverage``); planned cameras cover when asked."""
    given = dict(settings.get("coverage") or {})
    allowed = set(coverage.Options.__dataclass_fields__)
    unknown = set(given) - allowed
    if unknown:
        raise WorkspaceError(f"unknown coverage setting(s) {sorted(unknown)}: known are {sorted(allowed)}")
    if "covering_statuses" in given:
        given["covering_statuses"] = tuple(given["covering_statuses"])
    try:
        given["capture_rules"] = capture.rules(settings.get("capture"))
    except ValueError as exc:
        raise WorkspaceError(str(exc)) from None
    opts = coverage.Options(**given)
    if include_planned and "planned" not in opts.covering_statuses:
        opts = dataclasses.replace(opts, covering_statuses=(*opts.covering_statuses, "planned"))
    return opts


def night_options(settings: dict[str, Any]) -> night.NightOptions:
    """The night model's options (``night``): street-light lux and the lamp assumed, checked."""
    given = dict(settings.get("night") or {})
    allowed = set(night.NightOptions.__dataclass_fields__)
    unknown = set(given) - allowed
    if unknown:
        raise WorkspaceError(f"unknown night setting(s) {sorted(unknown)}: known are {sorted(allowed)}")
    opts = night.NightOptions(**{k: float(v) for k, v in given.items()})
    if not (0 <= opts.street_lux <= 1000 and 0 <= opts.default_ir_range_m <= 1000
            and 0 <= opts.dawn_h < opts.dusk_h <= 24):
        raise WorkspaceError("night setting out of range: street_lux 0–1000 lx, default_ir_range_m 0–1000 m, "
                             "0 ≤ dawn_h < dusk_h ≤ 24 (hours)")
    return opts


def cost_options(settings: dict[str, Any]) -> placement.Costs:
    """What an installed camera costs beyond its price (``costs``, over its defaults), checked: known site
    kinds, amounts in yuan ≥ 0."""
    given = dict(settings.get("costs") or {})
    defaults = DEFAULT_SETTINGS["costs"]
    unknown = set(given) - set(defaults)
    if unknown:
        raise WorkspaceError(f"unknown costs setting(s) {sorted(unknown)}: known are {sorted(defaults)}")
    site = {**defaults["site"], **dict(given.get("site") or {})}
    amounts = [*site.values(), given.get("install_yuan", defaults["install_yuan"]),
               given.get("network_yuan", defaults["network_yuan"])]
    if not all(isinstance(v, int | float) and 0 <= v <= 1e8 for v in amounts):
        raise WorkspaceError("costs are amounts in yuan from 0 to 100,000,000, e.g. costs='{\"install_yuan\": 800}'")
    return placement.Costs(site={k: float(v) for k, v in site.items()},
                           install_yuan=float(given.get("install_yuan", defaults["install_yuan"])),
                           network_yuan=float(given.get("network_yuan", defaults["network_yuan"])))


def recording_options(settings: dict[str, Any]) -> dict[str, Any]:
    """How cameras record (``recording``, over its defaults), checked: codec, scene and mode known,
    frame rate, shares and days in range, the storage unit class and site level known."""
    given = dict(settings.get("recording") or {})
    defaults = DEFAULT_SETTINGS["recording"]
    unknown = set(given) - set(defaults)
    if unknown:
        raise WorkspaceError(f"unknown recording setting(s) {sorted(unknown)}: known are {sorted(defaults)}")
    out = {**defaults, **given}
    checks = [(out["codec"] in storage.CODECS, f"codec: one of {', '.join(storage.CODECS)}"),
              (out["scene"] in storage.SCENES, f"scene: one of {', '.join(storage.SCENES)}"),
              (out["mode"] in ("continuous", "event"), "mode: continuous or event"),
              (isinstance(out["fps"], (int, float)) and 1 <= out["fps"] <= 120, "fps: 1–120"),
              (isinstance(out["event_share"], (int, float)) and 0 < out["event_share"] <= 1, "event_share: (0, 1]"),
              (all(isinstance(out[k], int) and 1 <= out[k] <= 3650 for k in ("retention_days",
                                                                            "class1_retention_days")),
               "retention_days, class1_retention_days: whole days 1–3650"),
              (isinstance(out["substream_mbps"], (int, float)) and 0 <= out["substream_mbps"] <= 20,
               "substream_mbps: 0–20"),
              (isinstance(out["record_substream"], bool), "record_substream: true or false"),
              (out["unit"] in {u.id for u in storage.STORAGE_UNITS},
               f"unit: one of {', '.join(u.id for u in storage.STORAGE_UNITS)}"),
              (out["site_level"] in ("grid", "community", "township", "all"),
               "site_level: grid, community, township or all")]
    bad = [text for ok, text in checks if not ok]
    if bad:
        raise WorkspaceError(f"recording setting out of range ({'; '.join(bad)})")
    return out


#: the household situations a building can be marked with on the 3D map (setting ``markers``)
MARKABLE = ("rented", "vacant", "floating", "elderly")
#: settings that take a table (JSON object) rather than one value
TABLE_SETTINGS = ("camera_defaults", "coverage", "dori_profiles", "recording", "night", "capture", "costs")


def change_settings(store: Store, values: dict[str, Any], *, user: str) -> dict[str, Any]:
    """Check and store analysis settings (results computed before become stale); audited.

    Checks what a value means in this workspace: a DORI profile must exist (built in or under
    ``dori_profiles``), ``camera_defaults`` and ``coverage`` must name known fields.

    Parameters
    ----------
    store
        The workspace.
    values
        The settings to change, by name (tables as dicts).
    user
        Who changes them, for the audit log.

    Returns
    -------
    dict
        Every setting after the change, defaults included.
    """
    merged = {**store.settings(), **values}
    profiles = set(camera.DORI_PROFILES) | set(merged.get("dori_profiles") or {})
    if "dori_profile" in values and values["dori_profile"] not in profiles:
        raise ValueError(f"unknown DORI profile '{values['dori_profile']}': "
                         f"choose one of {', '.join(sorted(profiles))}")
    if "markers" in values:
        given = values["markers"]
        if not isinstance(given, list) or any(m not in MARKABLE for m in given):
            raise ValueError(f"markers is a list of situations to mark on buildings, from: {', '.join(MARKABLE)} "
                             "(e.g. markers=elderly,rented)")
    for key in TABLE_SETTINGS:
        if key in values and not isinstance(values[key], dict):
            raise ValueError(f"{key} takes a table, e.g. {key}='{{\"…\": …}}' (JSON)")
    if values.get("catalogue") is not None:  # camera models: the rows of a catalogue, checked as an import is
        if not isinstance(values["catalogue"], list) or not all(isinstance(r, dict) for r in values["catalogue"]):
            raise ValueError("catalogue takes the rows of a camera catalogue (a list of models), or null for the "
                             "packaged default; import a file with pingan catalogue WS --import FILE")
        values = {**values, "catalogue": catalogue.of_setting(values["catalogue"])}
        merged["catalogue"] = values["catalogue"]
    try:
        assumptions(merged)
        coverage_options(merged)
        recording_options(merged)
        night_options(merged)
        cost_options(merged)
    except WorkspaceError as exc:  # a bad value given now, not a damaged workspace
        raise ValueError(str(exc)) from exc
    camera.profile(str(merged["dori_profile"]), merged.get("dori_profiles"))
    before = store.settings()
    out = store.update_settings(**values)
    store.audit("settings", "workspace", {k: {"from": before.get(k), "to": v} for k, v in values.items()}, user=user)
    return out

"""The workspace settings and their defaults: one table, read by ``Store.settings`` (which merges a
workspace's own values over them) and by everything that needs a setting's default."""

from __future__ import annotations

from typing import Any

#: every workspace setting that has a default, and that default (``Store.settings`` merges them):
#: callers read ``settings[key]``, never a default of their own
DEFAULT_SETTINGS: dict[str, Any] = {
    "expect_china": True,
    "storey_height_m": 3.0,
    "dori_profile": "iec62676-4:2014",
    "dori_form": "arc",
    "target_height_m": 1.6,
    "occlusion": "2.5d",
    "basemap": {"kind": "none", "url": None},
    "max_outside_km": 50.0,
    # the household situations marked on buildings in the 3D 户况网格图 ("看标识户况")
    "markers": ["elderly"],
    # night views (gis.night): the street-light level (lx), the lamp assumed where a camera says nothing, and
    # the hours of dusk and dawn (patrol slots after dusk count the night views)
    "night": {"street_lux": 10.0, "default_ir_range_m": 30.0, "dusk_h": 19.0, "dawn_h": 6.0},
    "catalogue": None,  # camera models (layers.catalogue): None for the packaged default
    "capture": {},  # face and plate capture (gis.capture): changes to its rules, e.g. {"face": {"ppm": 250}}
    # what an installed camera costs beyond its unit price (gis.placement.Costs, yuan; planning estimates):
    # the site's works by kind, installation per camera, fibre and network per site
    "costs": {"site": {"pole": 12000.0, "wall": 3000.0, "roof": 5000.0, "other": 6000.0}, "install_yuan": 600.0,
              "network_yuan": 1500.0},
    # how cameras without their own fields record (gis.storage): codec, frame rate, scene activity, continuous
    # or event recording (recorded share), retention (class-1 longer), the sub stream, the storage unit counted
    "recording": {"codec": "H.265", "fps": 25.0, "scene": "medium", "mode": "continuous", "event_share": 0.3,
                  "retention_days": 30, "class1_retention_days": 90, "substream_mbps": 0.5,
                  "record_substream": False, "unit": "nvr-8", "site_level": "community"},
}

"""The patrol model: time slots, patrol units, stops, duty levels and checkpoints, as a visible,
versioned TOML document stored in the workspace (like the risk model, :mod:`gis.risk`).

Every patrol plan records the model's version and digest, so a plan can always be traced back to
the settings it was made with.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gis.camera import DORI_LEVELS

DEFAULT_MODEL = """\
# Pingan Planner patrol model. Edit slots, units, stops and duty levels; every plan stores the model it used.
version = 1

[risk]
dori_level = "detect"   # a street counts as watched where a camera sees it at this DORI level
window_days = 365       # incidents counted over the last N days before the period end
prior = 5.0             # pseudo-incidents of the workspace's own hour profile added to each grid's
slots = ["00-06", "06-12", "12-18", "18-24"]  # hours; "weekday:18-24" or "weekend:18-24" narrow to days

[units.foot]            # 徒步巡逻
crew = 2                # officers per unit
dwell_min = 10          # minutes at each hot spot (patrol research: 10–15)
speed_kmh = { default = 4.5 }

[units.bike]            # 摩托车/自行车巡逻
crew = 1
dwell_min = 10
speed_kmh = { default = 15.0, footway = 8.0 }

[units.car]             # 巡逻车; 0 = the unit cannot use that road class
crew = 2
dwell_min = 10
speed_kmh = { default = 15.0, primary = 30.0, secondary = 25.0, tertiary = 20.0, service = 10.0, footway = 0.0 }

[stops]
stretch_m = 200.0       # streets are cut into stretches of at most this length (the hot spots)
per_station = 60        # the hottest stretches offered to the route solver, per station and slot

[duty]                  # 勤务级别 per zone and slot: its uncovered risk against the mean of the zones in that slot
level1_ratio = 1.5      # 一级 from 1.5× the mean
level2_ratio = 0.75     # 二级 from 0.75× the mean; below it 三级
min_officers = 1        # officers every zone gets, whatever its risk

[checkpoints]
k = 4                   # checkpoints (卡口) to choose
road_classes = ["primary", "secondary"]  # candidates: junctions on these roads, and where they leave the area
od_pairs = 2000         # the heaviest grid-to-grid flows considered
"""

UNIT_KINDS = ("foot", "bike", "car")
_SLOT = re.compile(r"^(?:(all|weekday|weekend):)?(\d{1,2})-(\d{1,2})$")


class PatrolModelError(ValueError):
    """A patrol model that cannot be used: the message names the place and the fix."""


@dataclass(frozen=True)
class Slot:
    """Hours of the day (``start``–``end``, wrapping past midnight when end ≤ start) on some days."""

    start: int
    end: int
    days: str = "all"  # all | weekday | weekend

    @classmethod
    def parse(cls, text: str) -> Slot:
        """``18-24``, ``22-06`` (over midnight), ``weekday:18-24`` or ``weekend:00-06``."""
        m = _SLOT.match(str(text).strip())
        if not m:
            raise PatrolModelError(f"slot '{text}' is not 'HH-HH' (e.g. 18-24), optionally 'weekday:' or 'weekend:'")
        days, start, end = m.group(1) or "all", int(m.group(2)), int(m.group(3))
        if not (0 <= start <= 23 and 1 <= end <= 24) or start == end:
            raise PatrolModelError(f"slot '{text}': hours run 00–23 for the start and 01–24 for the end")
        return cls(start, end, days)

    @property
    def label(self) -> str:
        """The slot as written: ``18-24``, ``weekday:18-24``."""
        hours = f"{self.start:02d}-{self.end:02d}"
        return hours if self.days == "all" else f"{self.days}:{hours}"

    @property
    def key(self) -> str:
        """The slot as a column suffix: ``18_24``, ``weekday_18_24``."""
        return re.sub(r"[^0-9a-z]+", "_", self.label)

    @property
    def hours(self) -> tuple[int, ...]:
        """The hours of the day (0–23) the slot holds."""
        if self.end > self.start:
            return tuple(range(self.start, self.end))
        return tuple(range(self.start, 24)) + tuple(range(self.end))

    @property
    def weekdays(self) -> tuple[int, ...]:
        """The days of the week (0 = Monday) the slot holds."""
        return {"all": tuple(range(7)), "weekday": tuple(range(5)), "weekend": (5, 6)}[self.days]

    @property
    def week_hours(self) -> int:
        """Hours of the week in the slot (what its share of incidents is compared with)."""
        return len(self.hours) * len(self.weekdays)


@dataclass(frozen=True)
class UnitKind:
    """A kind of patrol unit: its officers, its dwell at a hot spot (min) and its speed (km/h) by road class."""

    name: str
    crew: int
    dwell_min: float
    speed_kmh: Mapping[str, float]

    def speed(self, road_class: str) -> float:
        """km/h on a road of ``road_class`` (0: the unit cannot use it)."""
        return float(self.speed_kmh.get(road_class, self.speed_kmh.get("default", 0.0)))


@dataclass(frozen=True)
class PatrolModel:
    """A parsed patrol model (:data:`DEFAULT_MODEL` is the default); ``text`` is the TOML it came from."""

    text: str
    version: int
    dori_level: str
    window_days: int
    prior: float
    slots: tuple[Slot, ...]
    units: Mapping[str, UnitKind]
    stretch_m: float
    per_station: int
    duty: Mapping[str, float]
    checkpoints: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str = DEFAULT_MODEL) -> PatrolModel:
        """Read and check a patrol model; :class:`PatrolModelError` names the key and the fix."""
        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise PatrolModelError(f"the patrol model is not valid TOML: {e}") from None
        risk = doc.get("risk", {})
        level = str(risk.get("dori_level", "detect"))
        if level not in DORI_LEVELS:
            raise PatrolModelError(f"risk.dori_level '{level}' is not one of {', '.join(DORI_LEVELS)}")
        slots = tuple(Slot.parse(s) for s in risk.get("slots", ["00-06", "06-12", "12-18", "18-24"]))
        if not slots or len({s.label for s in slots}) != len(slots):
            raise PatrolModelError("risk.slots must list at least one slot, each once")
        units: dict[str, UnitKind] = {}
        for name, u in (doc.get("units") or {}).items():
            speeds = {str(k): float(v) for k, v in (u.get("speed_kmh") or {}).items()}
            if not speeds or any(not math.isfinite(v) or v < 0 for v in speeds.values()) or max(speeds.values()) <= 0:
                raise PatrolModelError(f"units.{name}.speed_kmh needs at least one speed above 0 km/h "
                                       "(e.g. {{ default = 4.5 }})")
            crew, dwell = int(u.get("crew", 1)), float(u.get("dwell_min", 10))
            if crew < 1 or not 0 <= dwell <= 240:
                raise PatrolModelError(f"units.{name}: crew must be ≥ 1 and dwell_min 0–240 minutes")
            units[str(name)] = UnitKind(str(name), crew, dwell, speeds)
        if not units:
            raise PatrolModelError("the patrol model has no [units.*] table: add e.g. [units.foot]")
        stops, duty = doc.get("stops", {}), doc.get("duty", {})
        duty_values = {"level1_ratio": float(duty.get("level1_ratio", 1.5)),
                       "level2_ratio": float(duty.get("level2_ratio", 0.75)),
                       "min_officers": float(duty.get("min_officers", 1))}
        if not duty_values["level1_ratio"] > duty_values["level2_ratio"] >= 0:
            raise PatrolModelError("duty.level1_ratio must be above duty.level2_ratio, and both ≥ 0")
        cp = doc.get("checkpoints", {})
        model = cls(text=text, version=int(doc.get("version", 1)), dori_level=level,
                    window_days=int(risk.get("window_days", 365)), prior=float(risk.get("prior", 5.0)),
                    slots=slots, units=units, stretch_m=float(stops.get("stretch_m", 200.0)),
                    per_station=int(stops.get("per_station", 60)), duty=duty_values,
                    checkpoints={"k": int(cp.get("k", 4)),
                                 "road_classes": tuple(cp.get("road_classes", ("primary", "secondary"))),
                                 "od_pairs": int(cp.get("od_pairs", 2000))})
        if model.window_days < 1 or model.prior < 0 or model.stretch_m < 10 or model.per_station < 1:
            raise PatrolModelError("risk.window_days ≥ 1, risk.prior ≥ 0, stops.stretch_m ≥ 10 and "
                                   "stops.per_station ≥ 1 are required")
        return model

    def slot(self, text: str) -> Slot:
        """The slot ``text`` names (any slot may be asked for, not only the model's own)."""
        return Slot.parse(text)

    def describe(self) -> dict[str, Any]:
        """The model as plain data, for a plan's stamp."""
        return {"version": self.version, "dori_level": self.dori_level, "window_days": self.window_days,
                "prior": self.prior, "slots": [s.label for s in self.slots],
                "units": {k: {"crew": u.crew, "dwell_min": u.dwell_min, "speed_kmh": dict(u.speed_kmh)}
                          for k, u in self.units.items()},
                "stretch_m": self.stretch_m, "per_station": self.per_station, "duty": dict(self.duty),
                "checkpoints": {k: list(v) if isinstance(v, tuple) else v for k, v in self.checkpoints.items()}}


def parse_units(text: str, model: PatrolModel) -> dict[str, int]:
    """``foot:4,car:2`` → ``{"foot": 4, "car": 2}``, checked against the model's unit kinds."""
    out: dict[str, int] = {}
    for part in (p.strip() for p in str(text).split(",") if p.strip()):
        kind, _, count = part.partition(":")
        kind = kind.strip()
        if kind not in model.units:
            raise PatrolModelError(f"unit kind '{kind}' is not in the patrol model: use {', '.join(model.units)}")
        try:
            n = int(count or 1)
        except ValueError:
            raise PatrolModelError(f"'{part}': the count after ':' must be a whole number (e.g. foot:4)") from None
        if not 0 <= n <= 500:
            raise PatrolModelError(f"'{part}': between 0 and 500 units of a kind")
        out[kind] = out.get(kind, 0) + n
    if not out:
        raise PatrolModelError("no units: give them as kind:count, e.g. foot:4,car:2")
    return out


def parse_duration_h(text: str) -> float:
    """``4h``, ``90min``, ``4`` (hours) or ``3.5h`` → hours."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(h|hr|hours?|m|min|minutes?)?\s*", str(text))
    if not m:
        raise PatrolModelError(f"shift '{text}' is not a duration: write e.g. 4h or 90min")
    value = float(m.group(1)) / (60.0 if (m.group(2) or "h").startswith("m") else 1.0)
    if not 0 < value <= 24:
        raise PatrolModelError(f"shift '{text}': a shift lasts more than 0 and at most 24 hours")
    return value

"""Night ranges, known answers: the lamp's reach on the ground where it is shorter than the DORI range,
the street lights where the camera is sensitive enough, nothing otherwise, and a stated assumption."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from gis import night


def _day():
    return pd.DataFrame({"detect": [60.0] * 5, "observe": [24.0] * 5, "identify": [6.0] * 5})


def test_a_night_view_is_the_ir_range_where_the_ir_is_shorter():
    drop = np.full(5, 4.0 - 1.6)
    ir = np.array([30.0, 100.0, 0.0, 0.0, np.nan])
    lux = np.array([np.nan, np.nan, 0.5, 20.0, np.nan])
    ranges, notes = night.night_ranges(_day(), drop, ir, lux)
    reach = math.sqrt(30.0**2 - 2.4**2)  # the lamp's 30 m slant reach, on the ground
    assert ranges.loc[0, "detect"] == pytest.approx(reach)  # IR shorter than the day range: the IR range
    assert ranges.loc[0, "observe"] == 24.0 and ranges.loc[0, "identify"] == 6.0  # shorter levels keep theirs
    assert ranges.loc[1].tolist() == [60.0, 24.0, 6.0]  # a lamp that reaches further: the day ranges
    assert ranges.loc[2].tolist() == [60.0, 24.0, 6.0]  # no lamp, but 0.5 lx ≤ the streets' 10 lx
    assert ranges.loc[3].tolist() == [0.0, 0.0, 0.0]  # no lamp and needs 20 lx: blind at night
    assert ranges.loc[4, "detect"] == pytest.approx(reach)  # nothing known: the 30 m lamp assumed, and said
    assert notes[:4] == ["", "", "", ""] and "30 m assumed" in notes[4]


def test_brighter_streets_and_a_camera_sensitive_enough_see_by_day_ranges_beyond_their_lamp():
    opts = night.NightOptions(street_lux=30.0)
    ranges, _ = night.night_ranges(_day(), np.full(5, 2.4), np.full(5, 20.0), np.full(5, 15.0), opts)
    assert (ranges["detect"] == 60.0).all()


def test_the_dark_share_of_patrol_slots():
    from gis.patrol.model import Slot

    assert night.dark_share(Slot.parse("18-24").hours) == pytest.approx(5 / 6)  # dusk 19:00
    assert night.dark_share(Slot.parse("22-06").hours) == 1.0 and night.dark_share(Slot.parse("08-18").hours) == 0
    late = night.NightOptions(dusk_h=18.5, dawn_h=5.25)
    assert night.dark_share(Slot.parse("18-24").hours, late) == pytest.approx(5.5 / 6)
    assert night.dark_share(Slot.parse("00-06").hours, late) == pytest.approx(5.25 / 6)

"""The prefecture-scale synthetic city: its full size, and the same seed giving the same city."""

import pandas as pd

from benchmarks import synthetic_city
from layers import store


def test_full_size_meets_the_brief():
    assert synthetic_city.FULL["cameras"] >= 100_000 and synthetic_city.FULL["buildings"] >= 500_000
    assert synthetic_city.GRIDS_PER_SIDE ** 2 >= 3_000 and synthetic_city.GRIDS_PER_SIDE % 5 == 0


def test_same_seed_same_city(tmp_path):
    counts = synthetic_city.build(tmp_path / "a.gpkg", scale=0.004, seed=5)
    synthetic_city.build(tmp_path / "b.gpkg", scale=0.004, seed=5)
    a, b = store.open_workspace(tmp_path / "a.gpkg"), store.open_workspace(tmp_path / "b.gpkg")
    assert {"grids", "buildings", "households", "cameras", "targets", "incidents"} <= set(counts)
    assert counts["cameras"] == 400 and counts["buildings"] == 2_000
    for layer in counts:
        pd.testing.assert_frame_equal(pd.DataFrame(a.read(layer)), pd.DataFrame(b.read(layer)))
    assert len(set(a.read("grids")["code"])) == len(a.read("grids"))  # codes unique

import numpy as np
import pandas as pd
import pytest

from gis import risk

MODEL = risk.DEFAULT_MODEL


def indicators(n=10):
    """Grids g0 … g9 whose incident rate rises with the index; everything else equal."""
    codes = [f"g{i}" for i in range(n)]
    frame = pd.DataFrame(dict.fromkeys(risk.INDICATORS, 0.0), index=pd.Index(codes, name="code"))
    frame["incident_rate"] = [float(i) for i in range(n)]
    return frame


def random_indicators(n=40, seed=5):
    """``n`` grids with random incident rates (0–30) and shares, the rest equal."""
    rng = np.random.default_rng(seed)
    ind = indicators(n)
    for col in ("incident_rate", "rented_share", "floating_share", "coverage_gap"):
        ind[col] = rng.random(n) * (30 if col == "incident_rate" else 1)
    return ind


def with_method(text, method, **grading):
    """The default model with another method (and, optionally, other [grading] values)."""
    text = text.replace('method = "quantile"', f'method = "{method}"')
    for key, value in grading.items():
        lines = [f"{key} = {value}" if line.startswith(f"{key} = ") else line for line in text.splitlines()]
        text = "\n".join(lines)
    return risk.RiskModel.parse(text)


def test_scores_and_explanation_add_up():
    ind = indicators()
    ind.loc["g3", "rented_share"] = 0.5
    out = risk.grade_all(ind, risk.RiskModel.parse(MODEL))
    contrib = out[[c for c in out if c.startswith("contrib_")]].sum(axis=1)
    assert (contrib - out["score"]).abs().max() < 1e-9
    w = risk.weights_table(risk.RiskModel.parse(MODEL))
    assert out.loc["g9", "score"] == pytest.approx(100 * w["incident_rate"])
    assert out.loc["g3", "contrib_rented_share"] > 0
    assert out.loc["g3", "drivers"].split(";")[0] == "rented_share"


def test_quantile_fixed_and_natural_breaks():
    ind = indicators()
    q = risk.grade_all(ind, risk.RiskModel.parse(MODEL))  # top 15% red, next 35% yellow
    assert q["level"].tolist() == ["green"] * 5 + ["yellow"] * 4 + ["red"]
    fixed = with_method(MODEL, "fixed", cutoffs="[10.0, 25.0]")
    f = risk.grade_all(ind, fixed)
    # incident_rate carries 30% of the weight: g_i scores 30·i/9
    assert f["level"].tolist() == ["green"] * 3 + ["yellow"] * 5 + ["red"] * 2
    ind2 = indicators()
    ind2["incident_rate"] = [0, 0, 1, 1, 1, 10, 10, 11, 30, 31]
    nb = risk.grade_all(ind2, with_method(MODEL, "natural_breaks"))
    assert nb["level"].tolist() == ["green"] * 5 + ["yellow"] * 3 + ["red"] * 2


def test_what_moves_a_grid_down_a_level():
    fixed = with_method(MODEL, "fixed", cutoffs="[10.0, 25.0]")
    out = risk.grade_all(indicators(), fixed)
    # g9 scores 30 and red starts at 25; lowering its rate below g8's 8 makes g8 the maximum, so g9 needs
    # 30·v/8 < 25, v < 6.67: "below 7.5" (the boundary score alone) would leave it red
    assert out.loc["g9", "hint"] == "lower" and out.loc["g9", "lower_indicator"] == "incident_rate"
    assert out.loc["g9", "lower_to"] == pytest.approx(6.6) and out.loc["g8", "lower_to"] == pytest.approx(7.4)
    assert out.loc["g0", "hint"] == "" and out.loc["g0", "lower_indicator"] == ""
    assert np.isnan(out.loc["g0", "lower_to"])


@pytest.mark.parametrize("method", ["quantile", "fixed", "natural_breaks"])
def test_every_hint_is_enough_as_printed(method):
    """Followed by hand, each hint moves its grid down a level under the model's own method."""
    ind = random_indicators()
    model = with_method(MODEL, method, cutoffs="[30.0, 50.0]")
    out = risk.grade_all(ind, model)
    followed = 0
    for code in out.index[out["level"] != "green"]:
        key, value, hint = out.at[code, "lower_indicator"], out.at[code, "lower_to"], out.at[code, "hint"]
        if hint != "lower":
            assert not key and np.isnan(value) and hint in ("several", "override")
            assert hint != "several" or out.at[code, "lower_need"] > 0
            continue
        changed = ind.copy()
        changed.loc[code, key] = value
        after = risk.grade_all(changed, model).at[code, "level"]
        assert risk.LEVELS.index(after) < risk.LEVELS.index(out.at[code, "level"]), (code, key, value, after)
        followed += 1
    assert followed >= 5


def test_override_forces_red():
    ind = indicators()
    ind.loc["g0", "serious_incidents"] = 1.0
    out = risk.grade_all(ind, risk.RiskModel.parse(MODEL))
    assert out.loc["g0", "level"] == "red" and out.loc["g0", "override"] == "窗口期内发生严重案件"
    assert out.loc["g0", "override_rule"] == "serious_incidents >= 1" and out.loc["g0", "hint"] == "override"


def test_baseline_method():
    ind = indicators(4)
    now = pd.Series([10.0, 6.0, 1.0, 2.0], index=ind.index)
    mean = pd.Series([5.0, 5.0, 0.5, 2.0], index=ind.index)
    out = risk.grade_all(ind, with_method(MODEL, "baseline"), baseline_ratio=now / mean, baseline_counts=now)
    # ratios 2.0 (red), 1.2 (yellow), 2.0 but under 3 incidents (green), 1.0 (green)
    assert out["level"].tolist() == ["red", "yellow", "green", "green"]
    with pytest.raises(risk.RiskModelError, match="needs incident history"):
        risk.grade_all(ind, with_method(MODEL, "baseline"))


def test_history_diff():
    before = risk.grade_all(indicators(), risk.RiskModel.parse(MODEL))
    later = indicators()
    later.loc["g9", "incident_rate"] = 0.0
    after = risk.grade_all(later, risk.RiskModel.parse(MODEL))
    diff = risk.compare(before, after).set_index("code")
    assert diff.loc["g9", "before"] == "red" and diff.loc["g9", "direction"] == "down"
    assert diff.loc["g9", "why_indicator"] == "incident_rate"
    assert (diff.loc["g9", "why_before"], diff.loc["g9", "why_after"]) == (9.0, 0.0)
    assert diff.loc["g8", "after"] == "red"  # the quantile passes red on to the next grid


@pytest.mark.parametrize(("text", "message"), [
    ("version = 1\n[indicators]\nfoo = 1", "unknown indicator"),
    ('[indicators]\nincident_rate = 1\n[grading]\nmethod = "vote"', "use fixed, quantile"),
    ("[indicators]\nincident_rate = 1\n[grading]\ncutoffs = [50, 10]", "two increasing scores"),
    ('[indicators]\nincident_rate = 1\n[[overrides]]\nrule = "import os"\nlevel = "red"', "indicator >= number"),
    ("[indicators\n", "not valid TOML"),
])
def test_bad_models_are_explained(text, message):
    with pytest.raises(risk.RiskModelError, match=message):
        risk.RiskModel.parse(text)

"""Risk reasons written for people from the data the grading gives, in Chinese and in English."""

import re

import pytest

from api.workflows import reasons
from gis import risk
from tests.gis.test_risk import MODEL, indicators, random_indicators, with_method


def test_reasons_in_chinese_and_english():
    ind = indicators()
    ind.loc["g3", "rented_share"] = 0.5
    out = risk.grade_all(ind, with_method(MODEL, "fixed", cutoffs="[10.0, 25.0]"))
    zh, en = reasons.with_texts(out), reasons.with_texts(out, "en")
    assert zh.loc["g3", "reasons"].startswith("出租户比例 50%（")
    assert en.loc["g3", "reasons"].startswith("rented share 50% (")
    assert zh.loc["g9", "to_lower_level"] == "警情率(起/千人)降至6.6或以下可降一级"
    assert zh.loc["g8", "to_lower_level"] == "警情率(起/千人)降至7.4或以下可降一级"
    assert en.loc["g9", "to_lower_level"] == "incident rate (per 1,000 residents) at 6.6 or below lowers the level"
    assert zh.loc["g0", "to_lower_level"] == "" and zh.loc["g0", "reasons"] == ""
    assert not re.search(r"[\u4e00-\u9fff]", "".join(en["reasons"]) + "".join(en["to_lower_level"]))


def test_an_override_names_its_reason_or_its_rule():
    ind = indicators()
    ind.loc["g0", "serious_incidents"] = 1.0
    out = risk.grade_all(ind, risk.RiskModel.parse(MODEL))
    assert reasons.with_texts(out).loc["g0", "to_lower_level"] == "先解决：窗口期内发生严重案件"
    no_reason = MODEL.replace('reason = "窗口期内发生严重案件"\n', "")
    bare = risk.grade_all(ind, risk.RiskModel.parse(no_reason))
    assert reasons.with_texts(bare).loc["g0", "to_lower_level"] == "先解决：严重案件(起) >= 1"
    assert reasons.with_texts(bare, "en").loc["g0", "to_lower_level"] == "first resolve: serious incidents >= 1"


@pytest.mark.parametrize("method", ["quantile", "fixed", "natural_breaks"])
def test_the_hint_as_printed_is_the_value_that_was_checked(method):
    out = reasons.with_texts(risk.grade_all(random_indicators(), with_method(MODEL, method, cutoffs="[30.0, 50.0]")))
    checked = 0
    for code in out.index[out["hint"] == "lower"]:
        key, text = out.at[code, "lower_indicator"], out.at[code, "to_lower_level"]
        m = re.match(r"(.+?)降至([\d.]+)(%?)或以下可降一级$", text)
        assert m and m.group(1) == reasons.indicator_name(key), text
        assert float(m.group(2)) / (100 if m.group(3) else 1) == pytest.approx(out.at[code, "lower_to"])
        checked += 1
    assert checked >= 5


def test_a_change_says_which_indicator_moved():
    before = risk.grade_all(indicators(), risk.RiskModel.parse(MODEL))
    later = indicators()
    later.loc["g9", "incident_rate"] = 0.0
    diff = reasons.changes_with_texts(risk.compare(before, risk.grade_all(later, risk.RiskModel.parse(MODEL))))
    assert diff.set_index("code").loc["g9", "why"] == "警情率(起/千人) 9→0"


def test_every_indicator_and_category_has_a_name():
    for key in risk.INDICATORS:
        assert reasons.indicator_name(key) and reasons.indicator_name(key, "en")
    assert reasons.indicator_name("rate_theft", "en") == "theft incident rate (per 1,000 residents)"


def test_an_english_table_and_page_write_the_reasons_in_english(analysed_path, tmp_path):
    import shutil

    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.exports.source import Source
    from api.exports.tables import grid_figures
    from api.settings import Settings
    from layers import store

    shutil.copyfile(analysed_path, tmp_path / "ws.gpkg")
    graded_demo = store.open_workspace(tmp_path / "ws.gpkg")
    rows = grid_figures(Source.local(graded_demo, lang="en"))
    red = rows[rows["level"] == "red"]
    assert len(red) and red["reasons"].str.len().gt(0).all()
    # every word is English but the reason a risk model's author wrote for an override rule, shown as written
    ours = red["to_lower_level"].where(~red["to_lower_level"].str.startswith("first resolve: "), "")
    assert not re.search(r"[\u4e00-\u9fff]", "".join(red["reasons"]) + "".join(ours))
    zh = grid_figures(Source.local(graded_demo))
    assert zh.loc[zh["level"] == "red", "reasons"].str.contains("（").all()
    page = TestClient(create_app(Settings(auth=False, workspace=graded_demo.uri))).get("/?lang=en").text
    assert "points)" in page and "分）" not in page

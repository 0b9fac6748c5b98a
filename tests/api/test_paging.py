"""Every list endpoint pages: ``limit`` and ``offset`` are honoured (never ignored) and the total
is in ``X-Total-Count``; a limit past the route's most is refused, naming the parameter."""

import pytest

# the audit log by one action: reading it is audited too, so the whole log grows with every read
LISTS = [("/api/layers", {}), ("/api/audit", {"action": "login"}), ("/api/search", {"q": "网格"})]


@pytest.mark.parametrize(("path", "params"), LISTS)
def test_limit_offset_and_total(secured, path, params):
    admin = secured["as"]("admin")
    for name in ("planner", "police", "worker"):  # logins to list
        secured["as"](name)
    whole = admin.get(path, params=params | {"limit": 50})
    assert whole.status_code == 200, whole.text
    total = int(whole.headers["X-Total-Count"])
    items = whole.json()
    assert total >= 3 and len(items) == min(total, 50)
    first = admin.get(path, params=params | {"limit": 2})
    second = admin.get(path, params=params | {"limit": 2, "offset": 2})
    assert first.json() == items[:2] and second.json() == items[2:4]
    assert int(second.headers["X-Total-Count"]) == total
    past = admin.get(path, params=params | {"offset": total})
    assert past.status_code == 200 and past.json() == []


@pytest.mark.parametrize(("path", "params"), LISTS)
def test_a_limit_past_the_most_is_refused(secured, path, params):
    r = secured["as"]("admin").get(path, params=params | {"limit": 10**6})
    assert r.status_code == 422 and "limit" in r.json()["detail"]

"""Property-based fuzzing of the OpenAPI (schemathesis): no 500s, no answer outside the schema.

Every operation is called with generated (valid and invalid) input, as an administrator, on a
copy of the analysed demo. The optimiser run is left out: a generated request may ask for a
300-second MILP, and its input checks are tested in test_planning; the HTML pages are
tested in Chromium.
"""

import shutil

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402

from api import access  # noqa: E402
from api.app import create_app  # noqa: E402
from api.settings import Settings  # noqa: E402
from layers import store  # noqa: E402

PASSWORD = "fuzzing password 1"


@schemathesis.serializer("application/toml")
def _toml(ctx, value):  # the risk model is sent as TOML text: fuzz it as text
    return str(value).encode("utf-8")


_state: dict[str, object] = {}
# HTML pages are tested in Chromium (test_browser); the optimiser run is left out (see above)
schema = schemathesis.pytest.from_fixture("api_schema").exclude(
    path_regex="^/api/placement/|^/(coverage|placement|overview)?$")


@pytest.fixture(scope="module")
def api_schema(analysed_path, tmp_path_factory):
    from fastapi.testclient import TestClient

    path = tmp_path_factory.mktemp("fuzz") / "demo.gpkg"
    shutil.copyfile(analysed_path, path)
    access.add_user(store.open_workspace(path), "fuzz", "admin", access.Area(), PASSWORD)
    app = create_app(Settings(workspace=path))
    _state["token"] = TestClient(app).post("/api/auth/login", json={"username": "fuzz", "password": PASSWORD}
                                           ).json()["token"]
    return schemathesis.openapi.from_asgi("/openapi.json", app)


@schema.parametrize()
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_operation_fails_or_leaves_its_schema(case):
    case.call_and_validate(headers={"Authorization": f"Bearer {_state['token']}"})

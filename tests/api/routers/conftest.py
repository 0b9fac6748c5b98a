import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from tests.conftest import BACKENDS, copied_workspace


@pytest.fixture(scope="module")
def client(module_demo):
    """The demo served without logins (the local administrator's view)."""
    return TestClient(create_app(Settings(auth=False, workspace=module_demo.uri)))


@pytest.fixture(scope="module", params=BACKENDS)
def small_limit(request, analysed_path, tmp_path_factory):
    """The analysed demo served without logins, inlining no layer above 100 features."""
    module = request.module.__name__.rsplit(".", 1)[-1]  # one PostGIS workspace per test file
    uri, ws = copied_workspace(request, analysed_path, f"small_{module}", tmp_path_factory)
    return TestClient(create_app(Settings(auth=False, workspace=uri, inline_limit=100))), ws

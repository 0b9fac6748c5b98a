import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings


@pytest.fixture(scope="module")
def client(module_demo):
    """The demo served without logins (the local administrator's view)."""
    return TestClient(create_app(Settings(auth=False, workspace=module_demo.uri)))

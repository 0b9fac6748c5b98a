"""The OpenAPI document says how to log in and, per operation, the errors it can give; every error
answer is an RFC 9457 problem whose ``type`` the app serves. (tests/api/test_fuzz.py checks that the
documented codes hold for generated requests.)"""

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.errors import PROBLEMS
from api.settings import Settings


@pytest.fixture(scope="module")
def doc():
    return create_app(Settings(workspace="unused.gpkg")).openapi()


def _codes(doc, method, path):
    return {int(c) for c in doc["paths"][path][method]["responses"] if int(c) >= 400}


def test_security_schemes_and_which_operations_need_them(doc):
    assert set(doc["components"]["securitySchemes"]) == {"bearer", "session"}
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert doc["paths"]["/api/auth/login"]["post"]["security"] == []
    assert doc["paths"]["/api/health"]["get"]["security"] == []
    assert doc["paths"]["/api/layers"]["get"]["security"] == [{"bearer": []}, {"session": []}]


def test_each_operation_lists_its_own_errors(doc):
    assert _codes(doc, "get", "/api/layers") == {401, 403, 422, 503}  # 422: limit/offset
    assert _codes(doc, "put", "/api/layers/{name}/{fid}") >= {404, 412, 428}
    assert 409 in _codes(doc, "post", "/api/layers/{name}")
    assert not _codes(doc, "get", "/api/layers") & {409, 412, 428}
    assert _codes(doc, "post", "/api/auth/login") & {401, 403} == {401}
    assert not _codes(doc, "get", "/ogc/conformance")
    assert 401 not in _codes(doc, "get", "/coverage")  # a page sends a stranger to the login page
    assert "303" in doc["paths"]["/coverage"]["get"]["responses"]
    distinct = {frozenset(_codes(doc, m, p)) for p, ops in doc["paths"].items() for m in ops}
    assert len(distinct) > 5
    error = doc["paths"]["/api/layers/{name}"]["get"]["responses"]["404"]
    assert error["content"] == {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    assert "HTTPValidationError" not in doc["components"]["schemas"]


def test_geojson_answers_say_so(doc):
    assert "application/geo+json" in doc["paths"]["/api/layers/{name}"]["get"]["responses"]["200"]["content"]
    assert "application/geo+json" in doc["paths"]["/ogc/collections/{collection}/items"]["get"]["responses"]["200"][
        "content"]


def test_every_error_is_a_problem_with_a_stable_type(analysed_path):
    client = TestClient(create_app(Settings(workspace=analysed_path)))
    cases = [("get", "/api/layers", {}, 401, "not-logged-in"),
             ("get", "/nowhere", {}, 404, "not-found"),
             ("delete", "/api/health", {}, 405, "method-not-allowed"),
             ("post", "/api/auth/login", {"json": {"username": "x"}}, 422, "invalid-request"),
             ("post", "/api/auth/login", {"content": b"{", "headers": {"content-type": "application/json"}}, 422,
              "invalid-request")]
    for method, path, kwargs, status, slug in cases:
        r = client.request(method, path, **kwargs)
        assert r.status_code == status, (path, r.text)
        assert r.headers["content-type"] == "application/problem+json", path
        body = r.json()
        assert body["type"] == f"/problems/{slug}" and body["status"] == status and body["detail"], body
        assert body["instance"] == path and body["title"] == PROBLEMS[slug][1]
        served = client.get(body["type"])
        assert served.status_code == 200 and served.json()["status"] == status
    assert client.get("/problems/no-such-thing").json()["type"] == "/problems/not-found"
    assert {p["type"] for p in client.get("/problems").json()} == {f"/problems/{s}" for s in PROBLEMS}

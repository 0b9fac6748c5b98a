"""The risk router: the risk model read and replaced over HTTP, validated and versioned."""


from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings


def test_risk_model_through_the_api(demo_copy):
    client = TestClient(create_app(Settings(auth=False, workspace=demo_copy)))
    got = client.get("/api/risk/model")
    assert got.status_code == 200 and 'method = "quantile"' in got.text and got.headers["etag"] == 'W/"risk-model-0"'
    toml = {"content-type": "application/toml"}
    bad = client.put("/api/risk/model", content="[indicators]\nwealth = 1", headers=toml)
    assert bad.status_code == 422 and "unknown indicator" in bad.json()["detail"]
    text = got.text.replace("incident_rate = 0.30", "incident_rate = 0.20\nrate_theft = 0.10")
    ok = client.put("/api/risk/model", content=text, headers=toml)
    assert ok.status_code == 200 and ok.json() == {"version": 1}
    assert "rate_theft = 0.10" in client.get("/api/risk/model").text


"""The layers router: listing, features by bbox, households only with a reason."""





def test_layer_endpoints(client):
    layers = {row["name"]: row for row in client.get("/api/layers").json()}
    assert layers["grids"]["rows"] == len(client.get("/api/layers/grids").json()["features"])
    some = client.get("/api/layers/cameras", params={"bbox": "120.505,36.878,120.515,36.885"}).json()
    assert 0 < len(some["features"]) < layers["cameras"]["rows"]
    missing = client.get("/api/layers/nothing")
    assert missing.status_code == 404 and "has no layer 'nothing'" in missing.json()["detail"]
    # household detail: only with a stated reason (the local administrator of an --no-auth server may read it)
    assert client.get("/api/layers/households").status_code == 422
    assert len(client.get("/api/layers/households", params={"reason": "年度核查"}).json()) == 27_524
    assert client.get("/api/layers/cameras", params={"bbox": "1,2,3"}).status_code == 422


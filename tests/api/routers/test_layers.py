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



def test_layers_page_with_ids_and_counter_clockwise_polygons(client):
    import shapely

    whole = client.get("/api/layers/grids").json()
    assert whole["numberMatched"] == whole["numberReturned"] == len(whole["features"]) == 71
    assert [f["id"] for f in whole["features"]] == [f["properties"]["code"] for f in whole["features"]]
    for f in whole["features"]:  # RFC 7946 §3.1.6: exterior rings counter-clockwise
        shape = shapely.geometry.shape(f["geometry"])
        for polygon in getattr(shape, "geoms", [shape]):
            assert polygon.exterior.is_ccw
    first = client.get("/api/layers/grids", params={"limit": 20})
    second = client.get("/api/layers/grids", params={"limit": 20, "offset": 20}).json()
    assert first.headers["x-total-count"] == "71" and first.json()["numberReturned"] == 20
    assert [f["id"] for f in first.json()["features"] + second["features"]] == [
        f["id"] for f in whole["features"][:40]]
    assert client.get("/api/layers/grids", params={"offset": 70}).json()["numberReturned"] == 1
    assert client.get("/api/layers/grids", params={"limit": 0}).status_code == 422
    cameras = client.get("/api/layers/cameras", params={"limit": 3}).json()["features"]
    assert [f["id"] for f in cameras] == [f["properties"]["id"] for f in cameras]

"""The OpenAPI document covers the whole API; the docs page works without internet."""


def test_openapi_document_lists_the_resources_and_bearer_auth(client):
    spec = client.get("/api/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    for path in ("/api/v1/auth/tokens", "/api/v1/organizations", "/api/v1/organizations/{org_id}",
                 "/api/v1/allocations", "/api/v1/users", "/api/v1/audit/events"):
        assert path in spec["paths"], path
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    amount = spec["components"]["schemas"]["Allocation"]["properties"]["amount"]
    assert amount["type"] == "string"
    assert spec["components"]["schemas"]["Organization"]["properties"]["id"]["readOnly"] is True


def test_docs_page_loads_its_assets_from_this_server(client):
    html = client.get("/api/docs").get_data(as_text=True)
    assert "/api/docs/assets/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower() and "unpkg" not in html.lower()
    asset = client.get("/api/docs/assets/swagger-ui-bundle.js")
    assert asset.status_code == 200 and len(asset.data) > 100_000

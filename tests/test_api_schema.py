"""The OpenAPI schema of the REST API: served, valid, complete, and advertising bearer tokens."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from openapi_spec_validator import validate

pytestmark = pytest.mark.django_db


def _api_routes(patterns=None, prefix="") -> set[str]:
    found = set()
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            found |= _api_routes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern) and route.startswith("api/") and not route.startswith("api/schema"):
            found.add(route)
    return found


def test_the_schema_is_served_as_valid_openapi_3(admin_client):
    response = admin_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    validate(schema)
    assert schema["openapi"].startswith("3.")
    assert {"type": "http", "scheme": "bearer"}.items() <= next(
        s for s in schema["components"]["securitySchemes"].values() if s.get("scheme") == "bearer"
    ).items()


def test_every_api_endpoint_is_in_the_schema(admin_client):
    paths = admin_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()["paths"]
    assert len(_api_routes()) > 10
    assert len(paths) >= 15
    for needed in ("/api/links/", "/api/events/", "/api/rules/", "/api/deliveries/", "/api/issues/{key}/comments/",
                   "/api/connections/jira-sites/{id}/register-webhook/"):
        assert needed in paths


def test_the_schema_needs_a_signed_in_user(client):
    assert client.get("/api/schema/").status_code == 401


def test_an_api_url_that_matches_no_route_is_a_json_404(admin_client):
    response = admin_client.get("/api/links/-1/")
    assert response.status_code == 404 and response["Content-Type"] == "application/json"
    assert "/api/schema/" in response.json()["detail"]
    assert admin_client.get("/no-such-page/")["Content-Type"].startswith("text/html")

"""The API's shared behaviour: tokens, the schema and its documentation pages, one error format."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_user_trades_a_password_for_a_token_that_authenticates_later_calls():
    UserFactory(username="ana", password="pw-for-ana-123")
    client = APIClient()
    bad = client.post("/api/v1/auth/token/", {"username": "ana", "password": "wrong"}, format="json")
    assert bad.status_code == 400
    assert bad.json()["code"] == "invalid"
    assert "credentials" in bad.json()["detail"]
    good = client.post("/api/v1/auth/token/", {"username": "ana", "password": "pw-for-ana-123"}, format="json")
    assert good.status_code == 200
    token = good.json()["token"]
    assert len(token) == 40
    again = client.post("/api/v1/auth/token/", {"username": "ana", "password": "pw-for-ana-123"}, format="json")
    assert again.json()["token"] == token


def test_the_schema_is_openapi_3_and_its_pages_load_their_assets_from_this_server(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    document = schema.json()
    assert document["openapi"].startswith("3.")
    assert "/api/v1/auth/token/" in document["paths"]
    for page in ("/api/docs/", "/api/redoc/"):
        html = client.get(page).content.decode()
        assert "cdn.jsdelivr" not in html
        assert "unpkg.com" not in html
        assert "/static/drf_spectacular_sidecar/" in html


def test_every_json_endpoint_refuses_a_body_nested_too_deeply_with_a_400(api, researcher):
    body = "[" * 100_000 + "]" * 100_000
    response = api(researcher).generic("POST", "/api/v1/methods/", body, content_type="application/json")
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["detail"]

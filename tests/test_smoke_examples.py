from __future__ import annotations

from starlette.testclient import TestClient

from examples import fastapi_app, starlette_app
from tests.conftest import KEY


def test_starlette_example_only_necessary_before_choice() -> None:
    client = TestClient(starlette_app.create_app([KEY]))
    response = client.get("/")
    assert response.status_code == 200
    assert [c.split("=")[0] for c in response.headers.get_list("set-cookie")] == ["sid"]
    assert "undecided" in response.text


def test_fastapi_example_accept_all_then_all_cookies() -> None:
    client = TestClient(fastapi_app.create_app([KEY]))
    assert client.post("/consent", json={"action": "accept_all"}).status_code == 200
    response = client.get("/")
    names = sorted(c.split("=")[0] for c in response.headers.get_list("set-cookie"))
    assert names == ["_fbp", "_ga", "_hjSessionUser_1", "lang", "sid"]
    assert client.get("/api/consent-summary").json() == {
        "decided": True,
        "analytics": True,
        "advertisement": True,
    }

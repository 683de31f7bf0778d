"""The consent endpoints under ``endpoint``: GET, POST (JSON and form), DELETE, and refusals."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.testclient import TestClient

from consent import ConsentMiddleware, Policy
from tests.conftest import (
    EPOCH,
    KEY,
    MakeClient,
    call,
    choose,
    header_app,
    http_scope,
    set_cookie_for,
    set_cookie_names,
    set_cookies,
    small_policy,
    with_consent,
)

CATEGORIES = [
    {"name": "necessary", "title": "Necessary", "required": True},
    {"name": "functional", "title": "Functional", "required": False},
    {"name": "analytics", "title": "Analytics", "required": False},
    {"name": "performance", "title": "Performance", "required": False},
    {"name": "advertisement", "title": "Advertisement", "required": False},
]
ALL = [category["name"] for category in CATEGORIES]
JSON = {"content-type": "application/json"}
FORM = {"content-type": "application/x-www-form-urlencoded"}


@pytest.fixture
def client(make_client: MakeClient) -> TestClient:
    return make_client()


# -- GET ------------------------------------------------------------------------------


def test_get_for_an_undecided_visitor(client: TestClient) -> None:
    response = client.get("/consent")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    assert response.json() == {
        "decided": False,
        "granted": ["necessary"],
        "revision": 1,
        "consent_id": None,
        "gpc": False,
        "mode": "opt-in",
        "region": None,
        "opt_out": {
            "text": "Do not sell or share my personal information",
            "action": "opt_out",
            "categories": ["advertisement"],
        },
        "categories": CATEGORIES,
    }
    assert set_cookies(response) == []


def test_get_for_a_decided_visitor_lists_granted_in_category_order(client: TestClient) -> None:
    token = choose(client, {"granted": ["advertisement", "functional"]})
    data = client.get("/consent", headers=with_consent(token)).json()
    assert data["decided"] is True
    assert data["granted"] == ["necessary", "functional", "advertisement"]
    assert isinstance(data["consent_id"], str)
    assert len(data["consent_id"]) >= 16


def test_head(client: TestClient) -> None:
    response = client.head("/consent")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert set_cookies(response) == []


def test_custom_endpoint_path(make_client: MakeClient) -> None:
    client = make_client(policy_=small_policy("endpoint: /privacy/choices\n"))
    assert client.get("/privacy/choices").json()["decided"] is False
    assert client.get("/consent").text.startswith("['necessary']|")  # the app's own route


# -- POST JSON ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "granted"),
    [
        ({"action": "accept_all"}, ALL),
        ({"action": "reject_all"}, ["necessary"]),
        ({"granted": ["analytics"]}, ["necessary", "analytics"]),
        ({"granted": ["analytics", "necessary", "analytics"]}, ["necessary", "analytics"]),
        ({"granted": []}, ["necessary"]),
        ({"action": "save", "granted": ["performance"]}, ["necessary", "performance"]),
    ],
)
def test_post_json(client: TestClient, payload: dict[str, Any], granted: list[str]) -> None:
    response = client.post("/consent", json=payload)
    assert response.status_code == 200
    data = response.json()
    assert data["decided"] is True
    assert data["granted"] == granted
    assert data["gpc"] is False
    assert data["categories"] == CATEGORIES
    assert response.headers["cache-control"] == "no-store"
    assert set_cookie_names(response) == ["consent"]
    # The new cookie holds exactly the returned state.
    token = set_cookie_for(response, "consent").split(";")[0].partition("=")[2]
    client.cookies.clear()
    assert client.get("/consent", headers=with_consent(token)).json() == data


def test_post_keeps_the_consent_id(client: TestClient) -> None:
    first = client.post("/consent", json={"action": "accept_all"})
    token = set_cookie_for(first, "consent").split(";")[0].partition("=")[2]
    client.cookies.clear()
    second = client.post("/consent", json={"granted": []}, headers=with_consent(token))
    assert second.json()["consent_id"] == first.json()["consent_id"]
    client.cookies.clear()
    assert client.post("/consent", json={"granted": []}).json()["consent_id"] not in (
        None,
        first.json()["consent_id"],
    )


def test_post_expires_cookies_no_longer_granted(client: TestClient) -> None:
    token = choose(client)
    response = client.post(
        "/consent",
        json={"granted": ["analytics"]},
        headers=with_consent(token, "sid=1", "lang=en", "_ga=1", "_fbp=2", "_fbp=3", "x=1"),
    )
    assert set_cookie_names(response) == ["consent", "lang", "_fbp"]
    assert set_cookie_for(response, "_fbp") == f"_fbp=; Path=/; Max-Age=0; {EPOCH}"
    assert response.headers["vary"] == "Cookie"


def test_delete_withdraws(client: TestClient) -> None:
    token = choose(client)
    response = client.delete("/consent", headers=with_consent(token, "_ga=1"))
    assert response.status_code == 200
    assert response.json()["granted"] == ["necessary"]
    assert response.json()["decided"] is True
    assert set_cookie_names(response) == ["consent", "_ga"]
    withdrawn = set_cookie_for(response, "consent").split(";")[0].partition("=")[2]
    client.cookies.clear()
    assert client.get("/consent", headers=with_consent(withdrawn)).json()["granted"] == [
        "necessary"
    ]


# -- POST form --------------------------------------------------------------------------


def _form(client: TestClient, body: str, **headers: str) -> Any:
    return client.post(
        "/consent", content=body, headers={**FORM, **headers}, follow_redirects=False
    )


@pytest.mark.parametrize(
    ("body", "granted"),
    [
        ("action=accept_all&next=/shop", ALL),
        ("action=reject_all&next=/shop", ["necessary"]),
        (
            "action=save&granted=analytics&granted=functional&next=/shop",
            ["functional", "analytics"],
        ),
        ("granted=analytics&next=/shop", ["analytics"]),
        ("action=save&next=/shop", []),
        # The pressed button wins over the boxes ticked in the same form.
        ("action=reject_all&granted=analytics&next=/shop", ["necessary"]),
        ("action=accept_all&granted=analytics&next=/shop", ALL),
    ],
)
def test_post_form_redirects_with_the_cookie(
    client: TestClient, body: str, granted: list[str]
) -> None:
    response = _form(client, body + "&unrelated=field")
    assert response.status_code == 303
    assert response.headers["location"] == "/shop"
    assert response.headers["cache-control"] == "no-store"
    token = set_cookie_for(response, "consent").split(";")[0].partition("=")[2]
    client.cookies.clear()
    state = client.get("/consent", headers=with_consent(token)).json()
    assert state["granted"] == sorted({"necessary", *granted}, key=ALL.index)


def test_post_form_with_charset_and_query_string_next(client: TestClient) -> None:
    response = _form(
        client,
        "action=accept_all&next=%2Fshop%3Fpage%3D2%23top",
        **{"content-type": "application/x-www-form-urlencoded; charset=UTF-8"},
    )
    assert response.headers["location"] == "/shop?page=2#top"


def test_post_form_without_next_goes_home(client: TestClient) -> None:
    assert _form(client, "action=accept_all").headers["location"] == "/"


@pytest.mark.parametrize(
    "next_value",
    [
        "//evil.example",
        "/\\evil.example",
        "https://evil.example",
        "evil",
        "/a\x00b",
        "/a\rb",
        "/a\nLocation: x",
        "/a\tb",
        "/a b",
        "/caf\u00e9",
        "/" + "a" * 2048,
        "",
    ],
)
def test_unsafe_next_goes_home(client: TestClient, next_value: str) -> None:
    from urllib.parse import quote

    response = _form(client, f"action=accept_all&next={quote(next_value, safe='')}")
    assert response.status_code == 303
    assert response.headers["location"] == "/"


def test_longest_safe_next_is_kept(client: TestClient) -> None:
    path = "/" + "a" * 2047
    assert _form(client, f"action=accept_all&next={path}").headers["location"] == path


# -- refusals -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "status", "names"),
    [
        ({"granted": ["analytics", "tracking"]}, 422, "'tracking'"),
        ({"action": "maybe"}, 422, "action"),
        ({"action": "accept_all", "granted": ["analytics"]}, 422, "'granted'"),
        ({"action": "reject_all", "granted": []}, 422, "'granted'"),
        ({"granted": "analytics"}, 422, "granted"),
        ({"granted": [1]}, 422, "granted.0"),
        ({"action": "accept_all", "extra": 1}, 422, "extra"),
        ({}, 422, "'action' or 'granted'"),
        ([], 422, "object"),
        ("accept_all", 422, "object"),
        (None, 422, "object"),
    ],
)
def test_bad_json_choices(client: TestClient, payload: object, status: int, names: str) -> None:
    response = client.post("/consent", content=json.dumps(payload), headers=JSON)
    assert response.status_code == status
    assert names in response.json()["error"]
    assert set(response.json()) == {"error"}
    assert set_cookies(response) == []


@pytest.mark.parametrize(
    "body", [b"{", b"{'action': 'accept_all'}", b"", b"\xff\xfe", b"[" * 5000 + b"]" * 5000]
)
def test_malformed_json(make_client: MakeClient, body: bytes) -> None:
    client = make_client()
    response = client.post("/consent", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]
    assert set_cookies(response) == []


@pytest.mark.parametrize(
    ("body", "status", "names"),
    [
        ("action=maybe", 422, "'maybe'"),
        ("action=", 422, "''"),
        ("granted=tracking", 422, "'tracking'"),
        ("next=/", 400, "action"),
        ("", 400, "action"),
        ("&".join(["granted=analytics"] * 101), 413, "fields"),
    ],
)
def test_bad_forms(client: TestClient, body: str, status: int, names: str) -> None:
    response = _form(client, body)
    assert response.status_code == status
    assert names in response.json()["error"]
    assert set_cookies(response) == []


def test_form_that_is_not_utf8(client: TestClient) -> None:
    response = client.post("/consent", content=b"action=\xff", headers=FORM)
    assert response.status_code == 400
    assert "UTF-8" in response.json()["error"]


@pytest.mark.parametrize("content_type", ["text/plain", "multipart/form-data; boundary=x"])
def test_unsupported_content_type(client: TestClient, content_type: str) -> None:
    headers = {"content-type": content_type}
    response = client.post("/consent", content=b'{"action": "accept_all"}', headers=headers)
    assert response.status_code == 415
    error = response.json()["error"]
    assert f"unsupported content type {content_type.split(';')[0]!r}" in error
    assert "Content-Type: application/json" in error
    assert set_cookies(response) == []


@pytest.mark.parametrize("content", [b"", b'{"action": "accept_all"}'])
def test_no_content_type_is_named_as_such(client: TestClient, content: bytes) -> None:
    # Once answered "unsupported content type 'none'", as if "none" had been sent.
    response = client.post("/consent", content=content)
    assert response.status_code == 415
    error = response.json()["error"]
    assert error.startswith("no Content-Type header was sent; send the choice as JSON")
    assert "'none'" not in error
    assert set_cookies(response) == []


@pytest.mark.parametrize("body", ['{"action": "accept_all"}', '  [{"action": "save"}]'])
def test_json_sent_as_a_form_says_how_to_send_json(client: TestClient, body: str) -> None:
    # `curl -d '{...}'` labels the body application/x-www-form-urlencoded: it was
    # answered "missing 'action'", which does not tell what went wrong.
    response = _form(client, body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert "read as a form" in error
    assert "Content-Type: application/json" in error
    assert set_cookies(response) == []


def test_oversized_body_by_content_length(client: TestClient) -> None:
    body = b'{"granted": [' + b'"analytics",' * 2000 + b'"analytics"]}'
    response = client.post("/consent", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert set_cookies(response) == []


def test_bad_content_length(policy: Policy) -> None:
    app = ConsentMiddleware(header_app([]), policy=policy, secret_keys=KEY)
    headers = [(b"content-type", b"application/json"), (b"content-length", b"-5")]
    sent = call(app, http_scope("/consent", method="POST", headers=headers))
    assert sent[0]["status"] == 400


def _streamed(policy: Policy, chunks: list[bytes], *, max_body_bytes: int = 16 * 1024) -> int:
    app = ConsentMiddleware(
        header_app([]), policy=policy, secret_keys=KEY, max_body_bytes=max_body_bytes
    )
    inbound = [
        {"type": "http.request", "body": chunk, "more_body": index < len(chunks) - 1}
        for index, chunk in enumerate(chunks)
    ]
    scope = http_scope("/consent", method="POST", headers=[(b"content-type", b"application/json")])
    sent = call(app, scope, inbound)
    status: int = sent[0]["status"]
    return status


def test_oversized_streamed_body_without_content_length(policy: Policy) -> None:
    assert _streamed(policy, [b" " * 1000] * 20) == 413
    assert _streamed(policy, [b" " * 1000] * 20, max_body_bytes=100_000) == 400


def test_streamed_body_in_chunks_is_read_whole(policy: Policy) -> None:
    assert _streamed(policy, [b'{"action": ', b'"accept', b'_all"}']) == 200


def test_disconnect_before_the_body(policy: Policy) -> None:
    app = ConsentMiddleware(header_app([]), policy=policy, secret_keys=KEY)
    scope = http_scope("/consent", method="POST", headers=[(b"content-type", b"application/json")])
    sent = call(app, scope, [{"type": "http.disconnect"}])
    assert sent[0]["status"] == 400


# -- CSRF -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"sec-fetch-site": "cross-site"}, 403),
        ({"sec-fetch-site": "cross-site", "origin": "http://testserver"}, 403),
        ({"origin": "https://evil.example"}, 403),
        ({"origin": "null"}, 403),
        ({"origin": "http://testserver.evil.example"}, 403),
        ({"sec-fetch-site": "same-site", "origin": "http://shop.testserver"}, 403),
        ({"sec-fetch-site": "same-site"}, 403),
        ({"origin": "http://testserver"}, 200),
        ({"origin": "http://TestServer:80"}, 200),
        ({"sec-fetch-site": "same-origin"}, 200),
        ({"sec-fetch-site": "none"}, 200),
        ({"sec-fetch-site": "same-site", "origin": "http://testserver"}, 200),
        ({}, 200),
    ],
)
def test_origin_checks(client: TestClient, headers: dict[str, str], status: int) -> None:
    for method in ("POST", "DELETE"):
        response = client.request(
            method, "/consent", json={"action": "accept_all"}, headers=headers
        )
        assert response.status_code == status, method
        if status == 403:
            assert response.json()["error"]
            assert set_cookies(response) == []


def test_https_origin(make_client: MakeClient) -> None:
    client = make_client(base_url="https://testserver")
    ok = client.post(
        "/consent", json={"action": "accept_all"}, headers={"origin": "https://testserver:443"}
    )
    assert ok.status_code == 200
    refused = client.post(
        "/consent", json={"action": "accept_all"}, headers={"origin": "http://testserver"}
    )
    assert refused.status_code == 403


def test_trusted_origins(make_client: MakeClient) -> None:
    policy = small_policy("trusted_origins:\n  - https://www.example.com\n")
    client = make_client(policy_=policy)
    for origin, status in (("https://www.example.com", 200), ("https://example.com", 403)):
        response = client.post("/consent", json={"granted": []}, headers={"origin": origin})
        assert response.status_code == status, origin


def test_no_host_header_means_no_own_origin(policy: Policy) -> None:
    app = ConsentMiddleware(header_app([]), policy=policy, secret_keys=KEY)
    scope = http_scope("/consent", method="DELETE", headers=[(b"origin", b"http://testserver")])
    scope["headers"] = [(k, v) for k, v in scope["headers"] if k != b"host"]
    assert call(app, scope)[0]["status"] == 403


# -- methods and paths -------------------------------------------------------------------


@pytest.mark.parametrize("method", ["PUT", "PATCH", "OPTIONS"])
def test_other_methods(client: TestClient, method: str) -> None:
    response = client.request(method, "/consent")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD, POST, DELETE"
    assert method in response.json()["error"]


@pytest.mark.parametrize("path", ["/consent/", "/consent/extra", "/consent/a/b"])
def test_unknown_sub_path(client: TestClient, path: str) -> None:
    for method in ("GET", "POST"):
        response = client.request(method, path, json={"action": "accept_all"})
        assert response.status_code == 404
        assert response.json()["error"]
        assert set_cookies(response) == []


def test_prefix_alike_paths_belong_to_the_app(client: TestClient) -> None:
    assert client.get("/consentx").text.startswith("['necessary']|")


def test_failed_request_keeps_the_previous_choice(client: TestClient) -> None:
    token = choose(client, {"granted": ["analytics"]})
    refused = client.post(
        "/consent", json={"granted": ["analytics", "nope"]}, headers=with_consent(token, "_ga=1")
    )
    assert refused.status_code == 422
    assert set_cookies(refused) == []
    state = client.get("/consent", headers=with_consent(token)).json()
    assert state["granted"] == ["necessary", "analytics"]

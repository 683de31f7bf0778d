"""ConsentMiddleware seen from the outside: which cookies pass, in both directions."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from email.utils import parsedate_to_datetime

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import WebSocketRoute
from starlette.testclient import TestClient, WebSocketDenialResponse
from starlette.types import Message, Receive, Scope, Send
from starlette.websockets import WebSocket

from consent import ConfigError, ConsentMiddleware, ConsentState, Policy
from tests.conftest import (
    EPOCH,
    KEY,
    OTHER_KEY,
    MakeClient,
    attributes,
    call,
    call_sync,
    choose,
    cookie_app,
    header_app,
    http_scope,
    response_headers,
    seen_cookies,
    set_cookie_for,
    set_cookie_names,
    set_cookies,
    small_policy,
    with_consent,
)

SHOP = [
    ("sid", "1"),
    ("csrftoken", "2"),
    ("lang", "en"),
    ("_ga", "3"),
    ("_ga_ABC123", "4"),
    ("_pk_id.1.abcd", "5"),
    ("_hjSessionUser_1", "6"),
    ("_fbp", "7"),
    ("IDE", "8"),
    ("tracker", "9"),  # undeclared
]
REQUIRED = ["sid", "csrftoken"]


# -- Set-Cookie filtering ---------------------------------------------------


def test_undecided_visitor_gets_only_required_cookies(make_client: MakeClient) -> None:
    response = make_client(SHOP).get("/")
    assert set_cookie_names(response) == REQUIRED
    assert "consent" not in response.headers.get("set-cookie", "")


def test_decided_visitor_gets_granted_categories_only(make_client: MakeClient) -> None:
    client = make_client(SHOP)
    token = choose(client, {"granted": ["analytics", "performance"]})
    response = client.get("/", headers=with_consent(token))
    assert set_cookie_names(response) == [
        *REQUIRED,
        "_ga",
        "_ga_ABC123",
        "_pk_id.1.abcd",
        "_hjSessionUser_1",
    ]


def test_accept_all_lets_every_declared_cookie_pass(make_client: MakeClient) -> None:
    client = make_client(SHOP)
    token = choose(client)
    names = set_cookie_names(client.get("/", headers=with_consent(token)))
    assert names == [name for name, _ in SHOP if name != "tracker"]


def test_reject_all_is_the_same_as_undecided_for_cookies(make_client: MakeClient) -> None:
    client = make_client(SHOP)
    token = choose(client, {"action": "reject_all"})
    response = client.get("/", headers=with_consent(token))
    assert set_cookie_names(response) == REQUIRED
    assert response.text.startswith("['necessary']|")


def test_allowed_set_cookie_passes_unchanged(make_client: MakeClient) -> None:
    value = "sid=abc; Path=/shop; Domain=example.com; Max-Age=60; Secure; HttpOnly; SameSite=Strict"
    client = make_client(app=header_app([(b"set-cookie", value.encode())]))
    assert set_cookies(client.get("/")) == [value]


@pytest.mark.parametrize("undeclared", ["block", "allow"])
def test_undeclared_cookies_follow_the_setting(make_client: MakeClient, undeclared: str) -> None:
    policy = small_policy(f"undeclared: {undeclared}\n")
    client = make_client([("tracker", "1"), ("_ga", "2")], policy_=policy)
    expected = ["tracker"] if undeclared == "allow" else []
    for cookie in ("tracker=x", f"tracker=x; consent={choose(client)}"):
        response = client.get("/", headers={"cookie": cookie})
        assert [name for name in set_cookie_names(response) if name == "tracker"] == expected
        assert ("tracker=x" in seen_cookies(response)) == (undeclared == "allow")


PRECEDENCE = """\
  necessary:
    title: Necessary
    required: true
  functional:
    title: Functional
    cookies:
      - name: "_t*"
  analytics:
    title: Analytics
    cookies:
      - name: "_ga_*"
      - name: "_t*x"
  performance:
    title: Performance
    cookies:
      - name: "_ga_sp*"
  advertisement:
    title: Advertisement
    cookies:
      - name: _ga_special
"""


@pytest.mark.parametrize(
    ("granted", "passes"),
    [
        (["analytics"], ["_ga_x", "_ga_s"]),
        (["performance"], ["_ga_spx"]),
        (["advertisement"], ["_ga_special"]),
        (["functional"], ["_tx"]),
    ],
)
def test_exact_name_then_longest_prefix_then_first_declared(
    make_client: MakeClient, granted: list[str], passes: list[str]
) -> None:
    names = ["_ga_x", "_ga_s", "_ga_spx", "_ga_special", "_tx"]
    client = make_client([(name, "1") for name in names], policy_=small_policy("", PRECEDENCE))
    token = choose(client, {"granted": granted})
    assert set_cookie_names(client.get("/", headers=with_consent(token))) == passes


# -- the request Cookie header ------------------------------------------------

REQUEST_COOKIES = "sid=1; lang=en; _ga=2; _fbp=3; tracker=4"


def test_app_sees_only_required_cookies_before_a_choice(make_client: MakeClient) -> None:
    response = make_client().get("/", headers={"cookie": REQUEST_COOKIES})
    assert seen_cookies(response) == "sid=1"


def test_app_sees_granted_cookies_after_a_choice(make_client: MakeClient) -> None:
    client = make_client()
    token = choose(client, {"granted": ["analytics"]})
    response = client.get("/", headers=with_consent(token, REQUEST_COOKIES))
    assert seen_cookies(response) == f"consent={token}; sid=1; _ga=2"


def test_app_sees_undeclared_cookies_under_allow(make_client: MakeClient) -> None:
    client = make_client(policy_=small_policy("undeclared: allow\n"))
    response = client.get("/", headers={"cookie": "tracker=4; _ga=2; sid=1"})
    assert seen_cookies(response) == "tracker=4; sid=1"


def test_names_padded_with_unicode_spaces_are_not_smuggled_under_allow() -> None:
    # Starlette strips "\xa0" from names, so "\xa0_ga" would reach the app as "_ga".
    app = ConsentMiddleware(
        cookie_app([]), policy=small_policy("undeclared: allow\n"), secret_keys=[KEY]
    )
    messages = call(app, http_scope(headers=[(b"cookie", b"\xa0_ga=2; sid=1")]))
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    assert body.decode().partition("|")[2] == "sid=1"


def test_request_without_cookies_has_no_cookie_header(make_client: MakeClient) -> None:
    response = make_client().get("/", headers={"cookie": "_ga=1"})
    assert response.text == "['necessary']|"


def test_repeated_cookie_headers_are_joined(make_client: MakeClient) -> None:
    client = make_client()
    token = choose(client, {"granted": ["analytics"]})
    response = client.get(
        "/", headers=[("cookie", "sid=1; _fbp=2"), ("cookie", f"_ga=3; consent={token}")]
    )
    assert response.text == f"['analytics', 'necessary']|sid=1; _ga=3; consent={token}"


def test_repeated_cookie_headers_are_joined_even_when_nothing_is_removed(
    make_client: MakeClient,
) -> None:
    response = make_client().get("/", headers=[("cookie", "sid=1"), ("cookie", "csrftoken=2")])
    assert seen_cookies(response) == "sid=1; csrftoken=2"


DECLARED_PLACES = """\
  necessary:
    title: Necessary
    required: true
    cookies:
      - name: sid
  analytics:
    title: Analytics
    cookies:
      - name: "_pk_id.*"
        path: /shop
        domain: example.com
      - name: _ga
      - name: "_pk_ses.*"
        partitioned: true
"""


def test_non_granted_request_cookies_are_expired_once_in_every_scope_they_may_carry(
    make_client: MakeClient,
) -> None:
    # A request does not say how a cookie was scoped: the declared Domain and Path
    # first, then host-only and "/" (an app may set it other than the file says).
    client = make_client(policy_=small_policy("", DECLARED_PLACES))
    cookie = "_pk_id.1=a; sid=1; _pk_id.1=b; _ga=c; x=1; _pk_ses.1=d"
    response = client.get("/", headers={"cookie": cookie})
    assert set_cookies(response) == [
        f"_pk_id.1=; Path=/shop; Domain=example.com; Max-Age=0; {EPOCH}",
        f"_pk_id.1=; Path=/shop; Max-Age=0; {EPOCH}",
        f"_pk_id.1=; Path=/; Domain=example.com; Max-Age=0; {EPOCH}",
        f"_pk_id.1=; Path=/; Max-Age=0; {EPOCH}",
        f"_ga=; Path=/; Max-Age=0; {EPOCH}",
        f"_pk_ses.1=; Path=/; Max-Age=0; {EPOCH}; Secure; Partitioned",
    ]
    assert response.headers["vary"] == "Cookie"


def test_expiry_also_goes_out_when_the_app_sets_no_headers(make_client: MakeClient) -> None:
    async def bare(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 204})
        await send({"type": "http.response.body"})

    response = make_client(app=bare).get("/", headers={"cookie": "_ga=1"})
    assert set_cookies(response) == [f"_ga=; Path=/; Max-Age=0; {EPOCH}"]


def test_granted_request_cookies_are_not_expired(make_client: MakeClient) -> None:
    client = make_client()
    token = choose(client, {"granted": ["analytics"]})
    response = client.get("/", headers=with_consent(token, "_ga=1; _fbp=2"))
    assert set_cookie_names(response) == ["_fbp"]


@pytest.mark.parametrize(
    "cookie",
    [
        "sid=1; " * 200 + "_fbp=1",
        ";" * 300 + "_fbp=1",
        "sid=1; csrftoken=" + "x" * 17_000 + "; _fbp=1",
        "sid=" + "x" * 17_000 + "; _fbp=1",
    ],
)
def test_cookies_beyond_the_parser_bounds_never_reach_the_app(
    make_client: MakeClient, cookie: str
) -> None:
    seen = seen_cookies(make_client().get("/", headers={"cookie": cookie}))
    assert "_fbp" not in seen
    assert set(seen.split("; ")) <= {"", "sid=1"}


def test_cookies_within_the_bounds_all_reach_the_app(make_client: MakeClient) -> None:
    cookie = "sid=1; " * 199 + "csrftoken=" + "x" * 14_000
    assert seen_cookies(make_client().get("/", headers={"cookie": cookie})) == cookie


@pytest.mark.parametrize("name", ["_ga_a(b", "_ga_" + "x" * 300, "_hj{x}", "_pk_ses.a b"])
def test_unsafe_glob_matched_names_are_never_echoed(make_client: MakeClient, name: str) -> None:
    response = make_client().get("/", headers={"cookie": f"{name}=1; sid=2"})
    assert set_cookies(response) == []
    assert seen_cookies(response) == "sid=2"


# -- the consent cookie ---------------------------------------------------------


def _consent_set_cookie(client: TestClient, name: str) -> str:
    response = client.post("/consent", json={"action": "accept_all"})
    return set_cookie_for(response, name)


def test_consent_cookie_attributes_over_http(make_client: MakeClient) -> None:
    before = time.time()
    set_cookie = _consent_set_cookie(make_client(), "consent")
    attrs = attributes(set_cookie)
    assert attrs["path"] == "/"
    assert attrs["samesite"] == "Lax"
    assert "httponly" in attrs
    assert "secure" not in attrs
    assert "domain" not in attrs
    assert attrs["max-age"] == str(180 * 86400)
    expires = parsedate_to_datetime(attrs["expires"]).timestamp()
    assert before + 180 * 86400 - 2 <= expires <= time.time() + 180 * 86400 + 2


def test_consent_cookie_max_age_follows_the_file(make_client: MakeClient) -> None:
    client = make_client(policy_=small_policy("cookie:\n  max_age_days: 30\n"))
    assert attributes(_consent_set_cookie(client, "consent"))["max-age"] == str(30 * 86400)


def test_consent_cookie_over_https_is_host_prefixed_and_secure(make_client: MakeClient) -> None:
    client = make_client(base_url="https://testserver")
    set_cookie = _consent_set_cookie(client, "__Host-consent")
    attrs = attributes(set_cookie)
    assert "secure" in attrs
    assert "domain" not in attrs
    assert attrs["path"] == "/"
    token = set_cookie.split(";")[0].partition("=")[2]
    # Over https only the prefixed cookie is read.
    decided = client.get("/consent", headers={"cookie": f"__Host-consent={token}"}).json()
    assert decided["decided"] is True
    plain = client.get("/consent", headers={"cookie": f"consent={token}"}).json()
    assert plain["decided"] is False


def test_consent_cookie_with_domain_is_secure_prefixed(make_client: MakeClient) -> None:
    policy = small_policy("cookie:\n  domain: example.com\n")
    client = make_client(policy_=policy, base_url="https://testserver")
    attrs = attributes(_consent_set_cookie(client, "__Secure-consent"))
    assert attrs["domain"] == "example.com"
    assert "secure" in attrs


@pytest.mark.parametrize(
    ("secure", "base_url", "name", "is_secure"),
    [
        ("true", "http://testserver", "__Host-consent", True),
        ("false", "https://testserver", "consent", False),
    ],
)
def test_consent_cookie_secure_setting(
    make_client: MakeClient, secure: str, base_url: str, name: str, is_secure: bool
) -> None:
    client = make_client(policy_=small_policy(f"cookie:\n  secure: {secure}\n"), base_url=base_url)
    assert ("secure" in attributes(_consent_set_cookie(client, name))) is is_secure


def test_consent_cookie_set_by_the_app_passes(make_client: MakeClient) -> None:
    client = make_client([("consent", "whatever")])
    assert set_cookie_names(client.get("/")) == ["consent"]


# -- broken tokens ----------------------------------------------------------------


def _state(client: TestClient, cookie: str) -> dict[str, object]:
    response = client.get("/consent", headers={"cookie": cookie})
    assert response.status_code == 200
    assert set_cookies(response) == []  # an undecided visitor never gets the cookie
    data: dict[str, object] = response.json()
    return data


def _broken_tokens(token: str) -> list[str]:
    value, _, signature = token.rpartition(".")
    # The first character: the last one partly holds base64 padding bits.
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    return [
        f"{value}.{flipped}",  # tampered signature
        token.replace("v1.1.", "v1.9.", 1),  # tampered payload
        token + "x" * 300,  # oversized
        token[:-3] + '"$"',  # bad charset
        token[:-3] + "%20",
        "",
        ".",
        "v1",
        "x" * 256,
    ]


def test_broken_tokens_mean_undecided(make_client: MakeClient) -> None:
    client = make_client([("_ga", "1")])
    token = choose(client)
    assert token.startswith("v1.1.")
    for broken in _broken_tokens(token):
        assert _state(client, f"consent={broken}")["decided"] is False, broken
        response = client.get("/", headers={"cookie": f"consent={broken}"})
        assert response.status_code == 200
        assert set_cookie_names(response) == []


def test_first_consent_cookie_wins(make_client: MakeClient) -> None:
    client = make_client()
    token = choose(client)
    assert _state(client, f"consent=broken; consent={token}")["decided"] is False
    assert _state(client, f"consent={token}; consent=broken")["decided"] is True


def test_token_signed_by_an_unknown_key_means_undecided(make_client: MakeClient) -> None:
    token = choose(make_client(keys=[OTHER_KEY]))
    assert _state(make_client(), f"consent={token}")["decided"] is False


def test_expired_token_means_undecided(
    make_client: MakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_client(policy_=small_policy("cookie:\n  max_age_days: 1\n"))
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() - 2 * 86400)
    token = choose(client)
    monkeypatch.setattr(time, "time", real)
    assert _state(client, f"consent={token}")["decided"] is False


def test_token_within_max_age_is_still_valid(
    make_client: MakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_client(policy_=small_policy("cookie:\n  max_age_days: 2\n"))
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() - 86400)
    token = choose(client)
    monkeypatch.setattr(time, "time", real)
    assert _state(client, f"consent={token}")["decided"] is True


def test_revision_bump_asks_again_and_keeps_the_consent_id(make_client: MakeClient) -> None:
    old = make_client([("_ga", "1")], policy_=small_policy("revision: 1\n"))
    token = choose(old)
    consent_id = _state(old, f"consent={token}")["consent_id"]
    new = make_client([("_ga", "1")], policy_=small_policy("revision: 2\n"))
    state = _state(new, f"consent={token}")
    assert state["decided"] is False
    assert state["consent_id"] == consent_id
    assert set_cookie_names(new.get("/", headers={"cookie": f"consent={token}; _ga=1"})) == [
        "_ga"  # the expiry of the request cookie; the app's _ga is dropped
    ]
    again = new.post(
        "/consent", json={"action": "accept_all"}, headers={"cookie": f"consent={token}"}
    )
    assert again.json()["consent_id"] == consent_id
    assert again.json()["revision"] == 2


def test_reordered_categories_invalidate_the_token(make_client: MakeClient) -> None:
    reordered = """\
  necessary:
    title: Necessary
    required: true
  advertisement:
    title: Advertisement
    cookies:
      - name: _fbp
  analytics:
    title: Analytics
    cookies:
      - name: _ga
"""
    token = choose(make_client(policy_=small_policy()), {"granted": ["analytics"]})
    client = make_client([("_fbp", "1")], policy_=small_policy("", reordered))
    assert _state(client, f"consent={token}")["decided"] is False
    assert set_cookie_names(client.get("/", headers={"cookie": f"consent={token}"})) == []


# -- keys -----------------------------------------------------------------------------


def test_old_key_verifies_and_newest_signs(make_client: MakeClient) -> None:
    old_token = choose(make_client(keys=[OTHER_KEY]))
    rotated = make_client(keys=[OTHER_KEY, KEY])
    assert _state(rotated, f"consent={old_token}")["decided"] is True
    new_token = choose(rotated)
    assert _state(make_client(keys=[KEY]), f"consent={new_token}")["decided"] is True
    assert _state(make_client(keys=[OTHER_KEY]), f"consent={new_token}")["decided"] is False


def test_single_key_string_is_accepted(policy: Policy) -> None:
    client = TestClient(ConsentMiddleware(header_app([]), policy=policy, secret_keys=KEY))
    assert choose(client).startswith("v1.")


def test_keys_come_from_the_environment(policy: Policy, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONSENT_SECRET_KEYS", f" {OTHER_KEY} , {KEY} ,")
    client = TestClient(ConsentMiddleware(header_app([]), policy=policy))
    token = choose(client)
    only_newest = TestClient(ConsentMiddleware(header_app([]), policy=policy, secret_keys=[KEY]))
    assert _state(only_newest, f"consent={token}")["decided"] is True


@pytest.mark.parametrize("value", [None, "", " , "])
def test_no_key_at_all_refuses_to_start(
    policy: Policy, monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    if value is None:
        monkeypatch.delenv("CONSENT_SECRET_KEYS", raising=False)
    else:
        monkeypatch.setenv("CONSENT_SECRET_KEYS", value)
    with pytest.raises(ConfigError, match="CONSENT_SECRET_KEYS"):
        ConsentMiddleware(header_app([]), policy=policy)


# -- Vary -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("app_headers", "vary"),
    [
        ([(b"set-cookie", b"sid=1")], ["Cookie"]),
        ([(b"set-cookie", b"_ga=1")], ["Cookie"]),
        ([(b"Vary", b"Accept-Encoding"), (b"set-cookie", b"sid=1")], ["Accept-Encoding, Cookie"]),
        ([(b"vary", b"accept, cookie"), (b"set-cookie", b"sid=1")], ["accept, cookie"]),
        ([(b"vary", b"*"), (b"set-cookie", b"sid=1")], ["*"]),
        ([(b"vary", b""), (b"set-cookie", b"sid=1")], ["Cookie"]),
        ([(b"vary", b"Accept")], ["Accept"]),
        ([], []),
    ],
)
def test_vary_cookie(
    make_client: MakeClient, app_headers: list[tuple[bytes, bytes]], vary: list[str]
) -> None:
    response = make_client(app=header_app(app_headers)).get("/")
    assert response.headers.get_list("vary") == vary


# -- bodies and other scopes ----------------------------------------------------------


def test_body_streams_through_chunk_by_chunk(policy: Policy) -> None:
    delivered: list[Message] = []
    seen_before_next_chunk: list[int] = []

    async def stream() -> AsyncIterator[bytes]:
        for chunk in (b"one ", b"two ", b"three"):
            seen_before_next_chunk.append(len(delivered))
            yield chunk

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        response = StreamingResponse(stream(), headers={"set-cookie": "_ga=1"})
        await response(scope, receive, send)

    async def run() -> None:
        async def receive() -> Message:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Message) -> None:
            delivered.append(message)

        await ConsentMiddleware(app, policy=policy, secret_keys=KEY)(http_scope(), receive, send)

    asyncio.run(run())
    bodies = [m for m in delivered if m["type"] == "http.response.body"]
    assert [m["body"] for m in bodies if m["body"]] == [b"one ", b"two ", b"three"]
    # Each chunk left before the app produced the next one: nothing is buffered.
    assert seen_before_next_chunk == [1, 2, 3]
    assert (b"set-cookie", b"_ga=1") not in delivered[0]["headers"]


def test_body_bytes_are_untouched(make_client: MakeClient) -> None:
    body = bytes(range(256)) * 64

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await Response(body, headers={"set-cookie": "_ga=1"})(scope, receive, send)

    assert make_client(app=app).get("/").content == body


def test_lifespan_passes_through(policy: Policy) -> None:
    events: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "lifespan"
        while True:
            message = await receive()
            events.append(message["type"])
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return

    sent = call(
        ConsentMiddleware(app, policy=policy, secret_keys=KEY),
        {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}},
        [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}],
    )
    assert events == ["lifespan.startup", "lifespan.shutdown"]
    assert [m["type"] for m in sent] == [
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
    ]


def _websocket_app(accept_headers: list[tuple[bytes, bytes]]) -> Starlette:
    async def endpoint(websocket: WebSocket) -> None:
        await websocket.accept(headers=accept_headers)
        state = websocket.state.consent
        await websocket.send_text(f"{state.decided}|{websocket.headers.get('cookie', '')}")
        await websocket.close()

    async def deny(websocket: WebSocket) -> None:
        response = PlainTextResponse("no", status_code=403)
        for name, value in accept_headers:
            response.raw_headers.append((name, value))
        await websocket.send_denial_response(response)

    return Starlette(routes=[WebSocketRoute("/ws", endpoint), WebSocketRoute("/deny", deny)])


def test_websocket_handshake_is_filtered(make_client: MakeClient) -> None:
    app = _websocket_app([(b"set-cookie", b"sid=1"), (b"set-cookie", b"_ga=2")])
    client = make_client(app=app)
    with client.websocket_connect("/ws", headers={"cookie": "sid=1; _fbp=2"}) as websocket:
        assert websocket.receive_text() == "False|sid=1"
        headers = websocket.extra_headers
    assert headers is not None
    assert [value for key, value in headers if key == b"set-cookie"] == [
        b"sid=1",
        f"_fbp=; Path=/; Max-Age=0; {EPOCH}".encode(),
    ]


def test_websocket_with_consent_keeps_granted_cookies(make_client: MakeClient) -> None:
    app = _websocket_app([(b"set-cookie", b"_ga=2"), (b"set-cookie", b"_fbp=3")])
    client = make_client(app=app)
    token = choose(client, {"granted": ["analytics"]})
    with client.websocket_connect("/ws", headers=with_consent(token, "_ga=1")) as websocket:
        assert websocket.receive_text() == f"True|consent={token}; _ga=1"
        headers = websocket.extra_headers
    assert headers is not None
    assert [value for key, value in headers if key == b"set-cookie"] == [b"_ga=2"]


def test_websocket_denial_response_is_filtered(make_client: MakeClient) -> None:
    app = _websocket_app([(b"set-cookie", b"sid=1"), (b"set-cookie", b"_ga=2")])
    with (
        pytest.raises(WebSocketDenialResponse) as denied,
        make_client(app=app).websocket_connect("/deny"),
    ):
        pass  # pragma: no cover - the handshake is refused
    assert denied.value.headers.get_list("set-cookie") == ["sid=1"]


def test_websocket_scope_never_reaches_the_endpoints(make_client: MakeClient) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": scope["path"]})
        await send({"type": "websocket.close"})

    with make_client(app=app).websocket_connect("/consent") as websocket:
        assert websocket.receive_text() == "/consent"


# -- the state handed to the app -------------------------------------------------


def test_scope_state_and_request_state_carry_the_consent(policy: Policy) -> None:
    seen: list[ConsentState] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["state"]["consent"])
        seen.append(Request(scope).state.consent)
        await header_app([])(scope, receive, send)

    call(ConsentMiddleware(app, policy=policy, secret_keys=KEY), http_scope())
    assert seen[0] is seen[1]
    assert seen[0] == ConsentState(
        decided=False, granted=frozenset({"necessary"}), revision=1, consent_id=None
    )


def test_existing_scope_state_is_kept(policy: Policy) -> None:
    scope = http_scope()
    scope["state"] = {"user": "ann"}
    seen: list[dict[str, object]] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(dict(scope["state"]))
        await header_app([])(scope, receive, send)

    call(ConsentMiddleware(app, policy=policy, secret_keys=KEY), scope)
    assert set(seen[0]) == {"user", "consent", "consent_banner"}


def test_decided_state_has_id_and_issue_time(make_client: MakeClient) -> None:
    seen: list[ConsentState] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["state"]["consent"])
        await header_app([])(scope, receive, send)

    client = make_client(app=app)
    token = choose(client, {"granted": ["functional"]})
    client.get("/", headers=with_consent(token))
    state = seen[0]
    assert state.decided
    assert state.granted == {"necessary", "functional"}
    assert state.allows("functional")
    assert not state.allows("analytics")
    assert state.consent_id
    assert state.issued_at is not None
    assert abs(state.issued_at - time.time()) < 5


# -- Global Privacy Control ----------------------------------------------------------


def test_gpc_on_an_undecided_visitor(make_client: MakeClient) -> None:
    client = make_client(SHOP)
    response = client.get("/", headers={"sec-gpc": "1"})
    assert set_cookie_names(response) == REQUIRED
    state = client.get("/consent", headers={"sec-gpc": "1"})
    assert state.json()["gpc"] is True
    assert state.json()["decided"] is False
    assert state.json()["granted"] == ["necessary"]
    assert set_cookies(state) == []


def test_gpc_reaches_the_app_state(make_client: MakeClient) -> None:
    seen: list[ConsentState] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["state"]["consent"])
        await header_app([])(scope, receive, send)

    client = make_client(app=app)
    for value in ("1", " 1 ", "0", "yes", "true", ""):
        client.get("/", headers={"sec-gpc": value})
    assert [state.gpc for state in seen] == [True, True, False, False, False, False]


@pytest.mark.parametrize("value", ["0", "yes", "2"])
def test_other_gpc_values_are_ignored(make_client: MakeClient, value: str) -> None:
    assert make_client().get("/consent", headers={"sec-gpc": value}).json()["gpc"] is False


def test_gpc_false_in_the_file_ignores_the_header(make_client: MakeClient) -> None:
    client = make_client(policy_=small_policy("gpc: false\n"))
    assert client.get("/consent", headers={"sec-gpc": "1"}).json()["gpc"] is False


def test_an_explicit_choice_wins_over_gpc(make_client: MakeClient) -> None:
    client = make_client(SHOP)
    token = choose(client)
    headers = {**with_consent(token), "sec-gpc": "1"}
    assert "_fbp" in set_cookie_names(client.get("/", headers=headers))
    state = client.get("/consent", headers=headers).json()
    assert state["gpc"] is False
    assert state["decided"] is True


def test_gpc_with_an_outdated_token_keeps_the_consent_id(make_client: MakeClient) -> None:
    token = choose(make_client(policy_=small_policy("revision: 1\n")))
    client = make_client(policy_=small_policy("revision: 2\n"))
    state = client.get("/consent", headers={"sec-gpc": "1", "cookie": f"consent={token}"}).json()
    assert state["gpc"] is True
    assert state["consent_id"]


# -- direct ASGI use ----------------------------------------------------------------------


def test_mixed_case_and_foreign_headers_are_handled(policy: Policy) -> None:
    app = header_app(
        [
            (b"Set-Cookie", b"_ga=1"),
            (b"SET-COOKIE", b"sid=2"),
            (b"Content-Type", b"text/plain"),
        ]
    )
    sent = call(ConsentMiddleware(app, policy=policy, secret_keys=KEY), http_scope())
    assert response_headers(sent) == [
        (b"SET-COOKIE", b"sid=2"),
        (b"Content-Type", b"text/plain"),
        (b"vary", b"Cookie"),
    ]


def test_answers_stay_right_beyond_any_cache(policy: Policy) -> None:
    # More distinct cookie names and tokens than a bounded cache holds.
    middleware = ConsentMiddleware(header_app([]), policy=policy, secret_keys=KEY)
    expected = [
        (b"set-cookie", f"_ga_z=; Path=/; Max-Age=0; {EPOCH}".encode()),
        (b"vary", b"Cookie"),
    ]
    for batch in range(50):
        junk = "; ".join(f"u{batch}x{i}=1" for i in range(190))
        cookie = f"consent=v1.{batch}; {junk}; _ga_z=1; sid=1".encode()
        sent = call_sync(middleware, http_scope(headers=[(b"cookie", cookie)]))
        assert response_headers(sent) == expected
    for number in range(9000):
        cookie = f"consent=v1.{number}; _ga_z=1".encode()
        sent = call_sync(middleware, http_scope(headers=[(b"cookie", cookie)]))
        assert response_headers(sent) == expected


@pytest.mark.parametrize(("undeclared", "seen"), [("block", "sid=1"), ("allow", "flag; sid=1")])
def test_a_nameless_request_cookie_is_undeclared(undeclared: str, seen: str) -> None:
    app = ConsentMiddleware(
        cookie_app([]), policy=small_policy(f"undeclared: {undeclared}\n"), secret_keys=[KEY]
    )
    messages = call(app, http_scope(headers=[(b"cookie", b"flag; sid=1")]))
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    assert body.decode().partition("|")[2] == seen


def test_filtering_holds_past_the_name_caches_bounds(policy: Policy) -> None:
    # More distinct names than the middleware caches: its caches must not grow without
    # bound, and a full cache must not change a single verdict.
    names = [f"tracker{i}".encode() for i in range(9000)]
    headers = [(b"set-cookie", name + b"=1") for name in names] + [(b"set-cookie", b"sid=1")]
    app = ConsentMiddleware(header_app(headers), policy=policy, secret_keys=[KEY])
    cookie = b"; ".join(name + b"=1" for name in names[:150]) + b"; sid=2"
    for _ in range(2):
        sent = response_headers(call_sync(app, http_scope(headers=[(b"cookie", cookie)])))
        assert [v for k, v in sent if k == b"set-cookie"] == [b"sid=1"]


def test_filtering_holds_past_the_caches_of_allowed_masks() -> None:
    # More distinct choices than the middleware keeps Set-Cookie caches for (one per
    # allowed mask): every response still carries exactly the granted cookies.
    optional = [f"c{i}" for i in range(8)]
    categories = "".join(
        f"  {name}:\n    title: {name.upper()}\n    cookies:\n      - name: k_{name}\n"
        for name in optional
    )
    necessary = "  necessary:\n    title: Necessary\n    required: true\n"
    policy = small_policy("records: false\n", necessary + categories)
    headers = [(b"set-cookie", f"k_{name}=1".encode()) for name in optional]
    app = ConsentMiddleware(header_app(headers), policy=policy, secret_keys=[KEY])
    client = TestClient(app)
    for round_ in range(2):  # the second round finds its masks' caches cleared or kept
        for number in range(140):
            granted = [name for index, name in enumerate(optional) if number >> index & 1]
            token = choose(client, {"granted": granted})
            cookie = f"consent={token}".encode()
            sent = response_headers(call_sync(app, http_scope(headers=[(b"cookie", cookie)])))
            kept = [value for key, value in sent if key == b"set-cookie"]
            assert kept == [f"k_{name}=1".encode() for name in granted], (round_, number)


# -- header names an app should not send, but may ------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "set-cookie",
        "Set-Cookie",
        bytearray(b"set-cookie"),
        memoryview(b"SET-COOKIE"),
    ],
)
def test_set_cookie_under_any_header_type_is_filtered(policy: Policy, name: object) -> None:
    # ASGI asks for lower-case bytes; a str name still reaches the browser through h11.
    headers = [(name, b"_ga=1"), (name, "sid=2"), (b"content-type", b"text/plain")]
    app = ConsentMiddleware(header_app(headers), policy=policy, secret_keys=KEY)  # type: ignore[arg-type]
    sent: list[tuple[object, object]] = list(response_headers(call(app, http_scope())))
    assert [value for key, value in sent if key == name] == ["sid=2"]
    assert (b"vary", b"Cookie") in sent


def test_a_cookie_header_under_a_bytearray_name_is_filtered(policy: Policy) -> None:
    # Frameworks decode a bytearray name like bytes; it once raised "unhashable type"
    # (a 500) before any cookie was read.
    seen: list[bytes] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.extend(value for key, value in scope["headers"] if bytes(key).lower() == b"cookie")
        await PlainTextResponse("ok")(scope, receive, send)

    middleware = ConsentMiddleware(app, policy=policy, secret_keys=KEY)
    headers = [(bytearray(b"cookie"), bytearray(b"sid=1; _ga=2; tracker=3"))]
    sent = call(middleware, http_scope(headers=headers))  # type: ignore[arg-type]
    assert sent[0]["status"] == 200
    assert seen == [b"sid=1"]


def test_a_header_name_that_cannot_be_read_is_refused(policy: Policy) -> None:
    app = ConsentMiddleware(header_app([(42, b"_ga=1")]), policy=policy, secret_keys=KEY)  # type: ignore[list-item]
    with pytest.raises(TypeError, match="must be bytes or str"):
        call(app, http_scope())


def test_many_cookie_headers_are_joined_once(
    policy: Policy, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Joining each new header onto the ones before is quadratic in their number.
    from consent.enforcement import cookies, request

    joins: list[int] = []
    join = cookies.join_cookie_headers

    def counted(values: list[bytes]) -> bytes:
        joins.append(len(values))
        return join(values)

    monkeypatch.setattr(request, "join_cookie_headers", counted)
    headers = [(b"cookie", b"sid=%d" % index) for index in range(5000)]
    messages = call(
        ConsentMiddleware(cookie_app([]), policy=policy, secret_keys=KEY),
        http_scope(headers=headers),
    )
    assert joins == [5000]
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    # One header for the app, within the parser's bounds (the first 200 cookies).
    assert body.decode().partition("|")[2] == "; ".join(f"sid={index}" for index in range(200))

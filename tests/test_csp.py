"""Consent-driven Content-Security-Policy: the header per consent state, the nonce, an app's
own policy, which responses get it, and the refusals of ``hosts:`` and ``csp:``."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import httpx2
import pytest
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send

from consent import ConfigError, ConsentMiddleware, Policy, csp_nonce, load_policy
from consent import policy_from_string as parse
from tests.conftest import KEY, header_app

CSP = "content-security-policy"
# The banner also changes HTML pages (body, Vary: Accept-Language); it has its own tests.
CATEGORIES = """\
banner:
  inject: false
categories:
  necessary:
    title: Necessary
    required: true
    hosts: [cdn.example.com]
  analytics:
    title: Analytics
    hosts: ["www.googletagmanager.com", "*.google-analytics.com"]
  advertisement:
    title: Advertisement
    hosts: ["https://connect.facebook.net"]
  functional:
    title: Functional
"""
ANALYTICS = ("www.googletagmanager.com", "*.google-analytics.com")
ADS = ("https://connect.facebook.net",)


def csp_policy(settings: str = "enabled: true") -> Policy:
    indented = "".join(f"  {line}\n" for line in settings.splitlines())
    return parse(f"csp:\n{indented}{CATEGORIES}")


def page_app(
    content_type: str = "text/html; charset=utf-8", headers: Sequence[tuple[str, str]] = ()
) -> ASGIApp:
    """An app that answers with the nonce it read from the request, as ``content_type``."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        nonce = csp_nonce(Request(scope, receive))
        response = Response(str(nonce), media_type=content_type, headers=dict(headers))
        await response(scope, receive, send)

    return app


def client(policy: Policy | None = None, app: ASGIApp | None = None) -> TestClient:
    middleware = ConsentMiddleware(
        app or page_app(), policy=policy or csp_policy(), secret_keys=KEY
    )
    return TestClient(middleware)


def directives(header: str) -> dict[str, list[str]]:
    """``script-src a b; img-src c`` → ``{"script-src": ["a", "b"], "img-src": ["c"]}``."""
    result: dict[str, list[str]] = {}
    for directive in header.split(";"):
        name, *sources = directive.split()
        assert name not in result, header
        result[name] = sources
    return result


def ours(response: httpx2.Response) -> dict[str, list[str]]:
    """Our policy: the last CSP header (an app's own comes first)."""
    return directives(response.headers.get_list(CSP)[-1])


GOVERNED = ("script-src", "frame-src", "img-src", "connect-src")


def assert_hosts(
    policy: dict[str, list[str]], allowed: Sequence[str], refused: Sequence[str]
) -> None:
    assert set(policy) == set(GOVERNED)
    for name in GOVERNED:
        assert policy[name][0] == "'self'"
        assert {"cdn.example.com", *allowed} <= set(policy[name])
        assert set(refused).isdisjoint(policy[name])
        # Nothing else lets a request through to another host.
        assert not {"*", "http:", "https:", "'strict-dynamic'"} & set(policy[name])


# -- the header per consent state ----------------------------------------------


def test_undecided_visitor_gets_only_self_and_required_hosts() -> None:
    response = client().get("/")
    policy = ours(response)
    assert_hosts(policy, allowed=(), refused=ANALYTICS + ADS)
    assert policy["img-src"] == ["'self'", "data:", "blob:", "cdn.example.com"]
    assert len(response.headers.get_list(CSP)) == 1


def test_granted_category_hosts_are_allowed() -> None:
    test_client = client()
    assert test_client.post("/consent", json={"granted": ["analytics"]}).status_code == 200
    policy = ours(test_client.get("/"))
    assert_hosts(policy, allowed=ANALYTICS, refused=ADS)
    assert policy["frame-src"] == ["'self'", "cdn.example.com", *ANALYTICS]


def test_accept_all_allows_every_declared_host() -> None:
    test_client = client()
    test_client.post("/consent", json={"action": "accept_all"})
    assert_hosts(ours(test_client.get("/")), allowed=ANALYTICS + ADS, refused=())


def test_refusal_and_withdrawal_take_the_hosts_away() -> None:
    test_client = client()
    test_client.post("/consent", json={"action": "accept_all"})
    test_client.post("/consent", json={"action": "reject_all"})
    assert_hosts(ours(test_client.get("/")), allowed=(), refused=ANALYTICS + ADS)
    test_client.post("/consent", json={"granted": ["advertisement"]})
    test_client.delete("/consent")
    assert_hosts(ours(test_client.get("/")), allowed=(), refused=ANALYTICS + ADS)


def test_a_host_of_two_categories_is_listed_once() -> None:
    policy = parse(
        "csp: {enabled: true, directives: [connect-src]}\ncategories:\n"
        "  a: {title: A, required: true, hosts: [x.example]}\n"
        "  b: {title: B, required: true, hosts: [x.example, y.example]}\n"
    )
    header = client(policy).get("/").headers[CSP]
    assert header == "connect-src 'self' x.example y.example"


def test_response_varies_on_cookie() -> None:
    assert client().get("/").headers["vary"] == "Cookie"
    app = page_app(headers=[("vary", "Accept-Encoding")])
    assert client(app=app).get("/").headers["vary"] == "Accept-Encoding, Cookie"


def test_one_vary_header_when_cookies_also_changed_it() -> None:
    app = page_app(headers=[("set-cookie", "_fbp=1; Path=/")])  # undeclared: removed
    response = client(app=app).get("/")
    assert response.headers.get_list("vary") == ["Cookie"]
    assert "set-cookie" not in response.headers


# -- disabled, report-only, directives -------------------------------------------


def test_off_by_default_adds_nothing() -> None:
    response = client(parse(CATEGORIES)).get("/")
    assert CSP not in response.headers
    assert "content-security-policy-report-only" not in response.headers
    assert response.text == "None"  # no nonce either
    assert response.headers.get("vary") is None


def test_report_only_sends_the_report_only_header() -> None:
    response = client(csp_policy("enabled: true\nreport_only: true\nreport_uri: /csp-report")).get(
        "/"
    )
    assert CSP not in response.headers
    policy = directives(response.headers["content-security-policy-report-only"])
    assert policy["report-uri"] == ["/csp-report"]
    assert_hosts({k: v for k, v in policy.items() if k != "report-uri"}, (), ANALYTICS)


def test_only_the_listed_directives_are_governed() -> None:
    settings = "enabled: true\ndirectives: [font-src, style-src, media-src]"
    response = client(csp_policy(settings)).get("/")
    assert ours(response) == {
        "font-src": ["'self'", "data:", "cdn.example.com"],
        "style-src": ["'self'", "'unsafe-inline'", "cdn.example.com"],
        "media-src": ["'self'", "data:", "blob:", "cdn.example.com"],
    }
    assert response.text == "None"  # scripts are not governed: no nonce to hand out


def test_unsafe_eval_is_added_only_when_asked() -> None:
    assert "'unsafe-eval'" not in ours(client().get("/"))["script-src"]
    policy = csp_policy("enabled: true\nunsafe_eval: true")
    assert "'unsafe-eval'" in ours(client(policy).get("/"))["script-src"]


# -- the nonce -------------------------------------------------------------------


def test_nonce_is_fresh_per_request_and_the_one_the_app_reads() -> None:
    test_client = client()
    nonces = []
    for _ in range(300):  # more than one batch of nonces
        response = test_client.get("/")
        nonce = response.text
        assert re.fullmatch(r"[0-9a-f]{36}", nonce)  # 144 random bits, hex
        script_src = ours(response)["script-src"]
        assert f"'nonce-{nonce}'" in script_src
        assert "'unsafe-inline'" not in script_src
        nonces.append(nonce)
    assert len(set(nonces)) == 300


def test_request_state_holds_the_same_nonce() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        assert request.state.csp_nonce == csp_nonce(request)
        await HTMLResponse(f'<script nonce="{request.state.csp_nonce}"></script>')(
            scope, receive, send
        )

    response = client(app=app).get("/")
    nonce = re.search(r'nonce="([^"]+)"', response.text)
    assert nonce is not None
    assert f"'nonce-{nonce[1]}'" in ours(response)["script-src"]


def test_without_nonce_inline_scripts_are_allowed() -> None:
    response = client(csp_policy("enabled: true\nnonce: false")).get("/")
    assert response.text == "None"
    assert ours(response)["script-src"][:2] == ["'self'", "'unsafe-inline'"]
    assert not any(s.startswith("'nonce-") for s in ours(response)["script-src"])


def test_csp_nonce_without_the_middleware_is_none() -> None:
    scope: Scope = {"type": "http", "headers": []}
    assert csp_nonce(Request(scope)) is None


# -- which responses get it -----------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        "text/html",
        "text/html; charset=utf-8",
        "TEXT/HTML;charset=UTF-8",
        "application/xhtml+xml",
        "image/svg+xml",
        "text/javascript",
        "application/javascript; charset=utf-8",
    ],
)
def test_runnable_responses_get_the_policy(content_type: str) -> None:
    response = client(app=page_app(content_type)).get("/")
    assert f"'nonce-{response.text}'" in ours(response)["script-src"]


@pytest.mark.parametrize(
    "content_type", ["application/json", "text/plain", "text/css", "image/png", "text/htmlx"]
)
def test_other_responses_are_left_alone(content_type: str) -> None:
    response = client(app=page_app(content_type)).get("/")
    assert CSP not in response.headers
    assert "vary" not in response.headers


def test_a_response_without_content_type_is_left_alone() -> None:
    response = client(app=header_app([])).get("/")
    assert CSP not in response.headers


def test_upper_case_header_names_from_the_app_are_understood() -> None:
    app = header_app([(b"Content-Type", b"text/html"), (b"Content-Security-Policy", b"x-y z")])
    response = client(app=app).get("/")
    assert response.headers.get_list(CSP)[0] == "x-y z"
    assert "script-src" in ours(response)


def test_consent_endpoints_and_json_are_untouched() -> None:
    test_client = client(app=JSONResponse({"ok": True}))
    assert CSP not in test_client.get("/consent").headers
    assert CSP not in test_client.get("/api").headers


# -- an app's own policy is never loosened --------------------------------------


APP_POLICIES = [
    "default-src 'self'",
    "script-src * 'unsafe-inline'; img-src *",
    "script-src 'self' 'nonce-AppNonce1' 'strict-dynamic'; object-src 'none'",
    "default-src https:, frame-ancestors 'none'",
    "script-src 'self';; img-src *;",
]


@pytest.mark.parametrize("app_policy", APP_POLICIES)
def test_app_policy_is_kept_verbatim_and_ours_is_added(app_policy: str) -> None:
    app = page_app(headers=[(CSP, app_policy)])
    response = client(app=app).get("/")
    first, second = response.headers.get_list(CSP)
    assert first == app_policy  # browsers enforce both: the result is never looser
    policy = directives(second)
    assert_hosts(policy, allowed=(), refused=ANALYTICS + ADS)
    assert "'strict-dynamic'" not in second  # it would switch our host list off


def test_app_nonces_hashes_and_eval_are_carried_over() -> None:
    app_policy = (
        "script-src 'self' 'nonce-AppNonce1' 'sha256-abc=' 'unsafe-eval' https://x.example; "
        "script-src 'nonce-ignored'"
    )
    response = client(app=page_app(headers=[(CSP, app_policy)])).get("/")
    script_src = ours(response)["script-src"]
    assert script_src[:2] == ["'self'", f"'nonce-{response.text}'"]
    assert {"'nonce-AppNonce1'", "'sha256-abc='", "'unsafe-eval'"} <= set(script_src)
    assert "'nonce-ignored'" not in script_src  # browsers use the first directive only
    assert "https://x.example" not in script_src  # the app's hosts still need consent


def test_app_unsafe_inline_replaces_our_nonce() -> None:
    # Next to a nonce CSP ignores 'unsafe-inline': our nonce would break the app's scripts.
    app = page_app(headers=[(CSP, "script-src 'self' 'unsafe-inline'")])
    script_src = ours(client(app=app).get("/"))["script-src"]
    assert script_src == ["'self'", "'unsafe-inline'", "cdn.example.com"]


def test_app_unsafe_inline_with_a_nonce_keeps_ours() -> None:
    app = page_app(headers=[(CSP, "default-src 'unsafe-inline' 'nonce-A1'")])
    response = client(app=app).get("/")
    script_src = ours(response)["script-src"]
    assert f"'nonce-{response.text}'" in script_src
    assert "'nonce-A1'" in script_src
    assert "'unsafe-inline'" not in script_src


def test_app_report_only_policy_is_not_copied_from() -> None:
    app = page_app(
        headers=[("content-security-policy-report-only", "script-src 'unsafe-inline' 'sha256-x'")]
    )
    response = client(app=app).get("/")
    assert ours(response)["script-src"] == ["'self'", f"'nonce-{response.text}'", "cdn.example.com"]
    assert response.headers["content-security-policy-report-only"].endswith("'sha256-x'")


def test_app_policy_without_scripts_changes_nothing_in_ours() -> None:
    app = page_app(headers=[(CSP, "frame-ancestors 'none'")])
    response = client(app=app).get("/")
    assert ours(response)["script-src"] == ["'self'", f"'nonce-{response.text}'", "cdn.example.com"]


def test_app_policy_is_respected_when_scripts_are_not_governed() -> None:
    policy = csp_policy("enabled: true\ndirectives: [img-src]")
    app = page_app(headers=[(CSP, "script-src 'nonce-A1'")])
    response = client(policy, app).get("/")
    assert response.headers.get_list(CSP) == [
        "script-src 'nonce-A1'",
        "img-src 'self' data: blob: cdn.example.com",
    ]


# -- the file -------------------------------------------------------------------


def test_hosts_are_normalised_and_csp_defaults() -> None:
    config = parse(
        "categories:\n  a:\n    title: A\n"
        "    hosts: [WWW.Example.COM/, 'https://*.cdn.example:8443', 'wss://ws.example:*', "
        "127.0.0.2]\n"
    ).config
    assert config.categories["a"].hosts == (
        "www.example.com",
        "https://*.cdn.example:8443",
        "wss://ws.example:*",
        "127.0.0.2",
    )
    csp = config.csp
    assert (csp.enabled, csp.report_only, csp.nonce, csp.unsafe_eval) == (False, False, True, False)
    assert csp.directives == GOVERNED
    assert csp.report_uri is None


BAD_HOSTS = [
    "*",
    "'self'",
    "https:",
    "data:",
    "a.example; script-src *",
    "a.example,b.example",
    "a.example b.example",
    "ftp://a.example",
    "https://a.example/path",
    "a.*.example",
    "*a.example",
    "-a.example",
    "a.example:99999x",
    "",
]


@pytest.mark.parametrize("host", BAD_HOSTS)
def test_bad_hosts_are_refused_with_their_line(tmp_path: Path, host: str) -> None:
    hosts = f"    hosts:\n      - ok.example\n      - {host!r}\n"  # the bad one on line 6
    error = refused(tmp_path, f"categories:\n  ads:\n    title: Ads\n{hosts}")
    assert (error.key, error.line) == ("categories.ads.hosts[1]", 6)
    assert "a host looks like" in error.message


@pytest.mark.parametrize(
    ("settings", "key", "line", "words"),
    [
        ("  enabled: 'on'\n", "csp.enabled", 2, "boolean"),
        ("  enabled: true\n  directives: []\n", "csp.directives", 3, "at least one"),
        ("  directives: [img-src, img-src]\n", "csp.directives", 2, "only once"),
        ("  directives: [img-src, object-src]\n", "csp.directives[1]", 2, "script-src"),
        ("  report_uri: 'https://r.example/x; script-src *'\n", "csp.report_uri", 2, "spaces"),
        ("  report_uri: javascript:alert(1)\n", "csp.report_uri", 2, "http(s) URL"),
        ("  enabled: true\n  nonces: false\n", "csp.nonces", 3, "did you mean 'nonce'"),
    ],
)
def test_bad_csp_settings_are_refused_with_their_line(
    tmp_path: Path, settings: str, key: str, line: int, words: str
) -> None:
    error = refused(tmp_path, f"csp:\n{settings}categories:\n  a:\n    title: A\n")
    assert (error.key, error.line) == (key, line)
    assert words in error.message


def refused(tmp_path: Path, text: str) -> ConfigError:
    path = tmp_path / "consent.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_policy(path)
    assert str(info.value).startswith(f"{path}:{info.value.line}: {info.value.key}: ")
    return info.value


def test_the_injected_banner_carries_the_policy_nonce() -> None:
    # The banner's own <script> must run under the policy the middleware adds.
    policy = parse(f"csp:\n  enabled: true\n{CATEGORIES.replace('inject: false', 'inject: true')}")
    response = client(policy).get("/")
    nonce = response.text.split("<", 1)[0]
    assert f"'nonce-{nonce}'" in response.headers[CSP]
    assert f'defer nonce="{nonce}"></script>' in response.text


@pytest.mark.parametrize("inject", ["true", "false"])
def test_a_response_without_headers_passes_as_it_is(inject: str) -> None:
    # ASGI lets "headers" be left out: no Content-Type, so nothing to add or inject.
    async def bare(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 204})
        await send({"type": "http.response.body", "body": b""})

    policy = parse("csp: {enabled: true}\n" + CATEGORIES.replace("false", inject))
    response = client(policy, app=bare).get("/")
    assert response.status_code == 204
    assert CSP not in response.headers
    assert "vary" not in response.headers

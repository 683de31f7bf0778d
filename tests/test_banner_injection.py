"""The middleware puts the banner into HTML pages and leaves everything else alone."""

from __future__ import annotations

import gzip
import re

import anyio
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse
from starlette.types import Receive, Scope, Send

from consent.banner import consent_banner
from consent.banner.injection import HEAD_WINDOW, body_end, head_position

from .banner_support import PAGE, client, html_app, policy_with, streaming_app


def test_undecided_page_gets_the_banner_before_body_end() -> None:
    response = client(html_app()).get("/")
    text = response.text
    assert text.index('id="consent-banner"') < text.index("</body>")
    assert text.endswith("</body></html>")
    assert int(response.headers["content-length"]) == len(response.content)
    assert 'role="dialog"' in text
    assert (
        'id="consent-settings" href="/consent/preferences?next=%2F" data-consent-settings hidden'
        in text
    )


def test_decided_page_gets_only_the_settings_control() -> None:
    c = client(html_app())
    c.post("/consent", json={"action": "reject_all"})
    text = c.get("/").text
    assert 'id="consent-banner"' not in text
    assert (
        'id="consent-settings" href="/consent/preferences?next=%2F" data-consent-settings>' in text
    )


def test_next_carries_path_and_query() -> None:
    text = client(html_app()).get("/shop/mugs?page=2").text
    assert 'name="next" value="/shop/mugs?page=2"' in text


def test_non_html_compressed_and_attachments_untouched() -> None:
    compressed = gzip.compress(PAGE.encode())
    cases = [
        html_app(headers={"content-type": "application/json"}),
        html_app(headers={"content-disposition": "attachment; filename=page.html"}),
    ]

    async def gzipped(scope: Scope, receive: Receive, send: Send) -> None:
        response = PlainTextResponse(b"", headers={"content-encoding": "gzip"})
        response.body = compressed
        response.headers["content-length"] = str(len(compressed))
        response.headers["content-type"] = "text/html"
        await response(scope, receive, send)

    for app in cases:
        assert "consent-root" not in client(app).get("/").text
    raw = client(gzipped).get("/", headers={"accept-encoding": "identity"})
    assert raw.headers["content-length"] == str(len(compressed))


def test_head_requests_and_injection_off() -> None:
    assert client(html_app()).head("/").headers["content-length"] == str(len(PAGE))
    off = policy_with("banner:\n  inject: false\n")
    response = client(html_app(), off).get("/")
    assert response.text == PAGE


def test_streamed_html_injected_even_when_body_end_is_split() -> None:
    chunks = [b"<!doctype html><html><he", b"ad></head><body>one", b"</bo", b"dy></html>"]
    response = client(streaming_app(chunks)).get("/")
    assert "content-length" not in response.headers
    text = response.text
    assert text.startswith("<!doctype html><html><head></head><body>one")
    assert text.index("consent-root") < text.index("</body></html>")


def test_streamed_non_html_passes_chunk_by_chunk() -> None:
    chunks = [b"a" * 10, b"</body>", b"c"]
    seen: list[bytes] = []
    app = client(streaming_app(chunks, media_type="text/plain")).app

    async def run() -> None:
        async def receive() -> dict[str, object]:
            await anyio.sleep_forever()  # the client stays connected
            raise AssertionError("unreachable")

        async def send(message: dict[str, object]) -> None:
            if message["type"] == "http.response.body" and message.get("body"):
                seen.append(message["body"])  # type: ignore[arg-type]

        scope = {"type": "http", "method": "GET", "path": "/", "headers": [], "query_string": b""}
        await app(scope, receive, send)  # type: ignore[arg-type]

    anyio.run(run)
    assert seen == chunks


def test_page_without_body_tag_gets_banner_at_the_end() -> None:
    text = client(html_app("<p>fragment</p>")).get("/").text
    assert text.startswith("<p>fragment</p>")
    assert text.rstrip().endswith("</script>")


def test_injected_pages_vary_on_cookie_and_language() -> None:
    assert client(html_app()).get("/").headers["vary"] == "Cookie, Accept-Language"
    page = html_app(headers={"vary": "Accept-Encoding, accept-language"})
    assert client(page).get("/").headers["vary"] == "Accept-Encoding, accept-language, Cookie"
    for complete in ("*", "cookie, Accept-Language"):
        assert client(html_app(headers={"vary": complete})).get("/").headers["vary"] == complete


def test_pathsend_body_is_left_alone() -> None:
    """A server that sends the file itself gets the headers exactly as the app wrote them."""
    sent: list[dict[str, object]] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-type", b"text/html"), (b"content-length", b"42")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.pathsend", "path": "/srv/page.html"})

    async def run() -> None:
        async def receive() -> dict[str, object]:
            raise AssertionError("not read")

        async def send(message: dict[str, object]) -> None:
            sent.append(message)

        scope = {"type": "http", "method": "GET", "path": "/", "headers": [], "query_string": b""}
        await client(app).app(scope, receive, send)  # type: ignore[arg-type]

    anyio.run(run)
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.pathsend"]
    assert (b"content-length", b"42") in sent[0]["headers"]  # type: ignore[operator]


def test_redirects_are_not_injected() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await HTMLResponse("<body>moved</body>", status_code=302, headers={"location": "/"})(
            scope, receive, send
        )

    response = client(app).get("/", follow_redirects=False)
    assert response.text == "<body>moved</body>"


def test_settings_button_can_be_left_out() -> None:
    c = client(html_app(), policy_with("banner:\n  settings_button: false\n"))
    c.post("/consent", json={"action": "accept_all"})
    text = c.get("/").text
    assert 'id="consent-root"' in text
    assert "consent-settings" not in text


def test_each_page_and_nonce_gets_its_own_markup() -> None:
    # The banner is rendered once and reused: what differs per request must still differ.
    c = client(html_app())
    assert 'name="next" value="/a?x=%3Cb%3E"' in c.get("/a?x=%3Cb%3E").text
    assert 'name="next" value="/b"' in c.get("/b").text
    assert 'name="next" value="/a?x=%3Cb%3E"' in c.get("/a?x=%3Cb%3E").text
    for nonce in ("n0nceOne", "n0nceTwo"):
        csp = {"content-security-policy": f"script-src 'nonce-{nonce}'"}
        text = client(html_app(headers=csp)).get("/").text
        assert f'nonce="{nonce}"' in text
        assert "zqx" not in text  # no stand-in left behind
    c.post("/consent", json={"action": "accept_all"})
    assert 'id="consent-banner"' not in c.get("/b").text
    assert 'href="/consent/preferences?next=%2Fb"' in c.get("/b").text


def test_without_a_nonce_the_script_tag_carries_no_nonce_attribute() -> None:
    # The cached markup was once chosen by the state's mode (always truthy) instead of
    # "has a nonce": every page without a CSP got <script ... nonce="">.
    c = client(html_app())
    assert "nonce=" not in c.get("/").text  # undecided: the banner
    c.post("/consent", json={"action": "accept_all"})
    assert "nonce=" not in c.get("/").text  # decided: the settings control
    app_csp = {"content-security-policy": "default-src 'self'"}  # a CSP, but no nonce
    assert "nonce=" not in client(html_app(headers=app_csp)).get("/").text


def test_an_empty_nonce_is_no_nonce() -> None:
    async def page(scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        await HTMLResponse(f"<body>{consent_banner(request, nonce='')}</body>")(
            scope, receive, send
        )

    text = client(page).get("/").text
    assert 'id="consent-banner"' in text
    assert "nonce=" not in text


def test_banner_goes_before_the_closing_body_tag_of_the_page() -> None:
    script = "<script>const end = '</body>';</script>"
    page = f"<html><head>{script}</head><body>{'<p>x</p>' * 500}</BODY >\n</html>"
    text = client(html_app(page)).get("/").text
    assert text.index(script) < text.index("consent-root") < text.index("</BODY >")
    # Far from the end (a long trailer after it), the first one is still found.
    trailer = "<!-- " + "t" * 3000 + " -->"
    text = client(html_app(f"<body><p>x</p></body>{trailer}</html>")).get("/").text
    assert text.index("consent-root") < text.index("</body>") < text.index(trailer)


# -- where the payloads go, against the plain regular expressions ----------------------

_PIECES = ["<head>", "<head lang=x>", "<HEAD>", "<header>", "<head", "</body>", "</BODY >",
           "</body\n>", "</body", "</bodyx>", "<html>", "<!doctype html>", "x" * 700, "<p>",
           " ", ">", "\n"]  # fmt: skip


def _regex_body_end(data: bytes) -> int:
    """The last ``</body>`` (any case, spaces before ``>``) in the last KB, else the first."""
    tail = max(0, len(data) - 1024)
    last = None
    for match in re.finditer(rb"</body\s*>", data[tail:], re.IGNORECASE):
        last = match
    if last is not None:
        return tail + last.start()
    first = re.search(rb"</body\s*>", data, re.IGNORECASE)
    return -1 if first is None else first.start()


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=12))
def test_body_end_is_where_the_pattern_says(pieces: list[str]) -> None:
    page = "".join(pieces).encode()
    assert body_end(page) == _regex_body_end(page)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from([p for p in _PIECES if p != "<HEAD>"]), max_size=12))
def test_head_position_follows_the_first_head_tag(pieces: list[str]) -> None:
    page = "".join(pieces).encode()
    expected = 0
    for pattern in (rb"<head(?:\s[^>]*)?>", rb"<html(?:\s[^>]*)?>", rb"<!doctype[^>]*>"):
        match = re.search(pattern, page[:HEAD_WINDOW], re.IGNORECASE)
        if match is not None:
            expected = match.end()
            break
    assert head_position(page) == expected


def test_an_upper_case_head_is_found_too() -> None:
    assert head_position(b"<!doctype html><HTML><HEAD><title>") == len(
        b"<!doctype html><HTML><HEAD>"
    )

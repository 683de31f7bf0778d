"""The example shop's page, shared by every framework's example.

The page sets one cookie of every category on each visit; the middleware lets
through only those the visitor consented to.
"""

from __future__ import annotations

import html
import os
import secrets
import sys
from collections.abc import Sequence
from pathlib import Path

from consent import ConsentState, load_policy

POLICY_FILE = Path(__file__).with_name("consent.yaml")
POLICY = load_policy(POLICY_FILE)

# name, value, category: one cookie per category, as a real shop would set them.
SHOP_COOKIES = (
    ("sid", "basket-42", "necessary"),
    ("lang", "en", "functional"),
    ("_ga", "GA1.1.12345.67890", "analytics"),
    ("_hjSessionUser_1", "hotjar", "performance"),
    ("_fbp", "fb.1.12345.67890", "advertisement"),
)


def secret_keys() -> list[str]:
    """Keys from CONSENT_SECRET_KEYS, or a throw-away development key with a warning."""
    configured = [k.strip() for k in os.environ.get("CONSENT_SECRET_KEYS", "").split(",")]
    keys = [k for k in configured if k]
    if keys:
        return keys
    print(
        "WARNING: CONSENT_SECRET_KEYS is not set; using a random development key. "
        "Consent given now is forgotten at restart. Never run like this in production: "
        "generate a key with `consent keygen`.",
        file=sys.stderr,
    )
    return [secrets.token_urlsafe(32)]


PAGE_STYLE = (
    "body{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;"
    "color:#1f2937}main{padding-bottom:16rem}"
    "iframe{width:100%;height:5rem;border:1px solid #d1d5db}"
)


def content_security_policy(nonce: str) -> str:
    """A strict policy: only scripts carrying this response's nonce run."""
    return (
        f"default-src 'self'; script-src 'nonce-{nonce}'; style-src 'self' 'nonce-{nonce}'; "
        "img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'self'"
    )


def render_nav(links: Sequence[tuple[str, str]]) -> str:
    """A row of ``(path, label)`` links at the top of a page; nothing without links."""
    if not links:
        return ""
    items = " ".join(
        f'<a href="{html.escape(path)}">{html.escape(label)}</a>' for path, label in links
    )
    return f'<nav aria-label="Shop">{items}</nav>'


def render_map(url: str | None) -> str:
    """The workshop's map, an iframe the banner's script loads once "functional" is
    granted; nothing where the example serves no map."""
    if url is None:
        return ""
    return f"""<h2>Find the workshop</h2>
<p>The map loads once you allow functional cookies.</p>
<iframe id="map" title="Map of the workshop" data-src="{html.escape(url)}"
 data-category="functional"></iframe>
"""


def render_page(
    state: ConsentState,
    cookies: dict[str, str],
    *,
    framework: str,
    nonce: str = "",
    nav: Sequence[tuple[str, str]] = (),
    map_url: str | None = None,
) -> str:
    """The shop's page. The middleware adds the banner (or the settings control) to it.

    The analytics snippet is gated: ``type="text/plain"`` keeps it inert until the visitor
    grants "analytics"; the banner script then runs it once, keeping its CSP nonce.
    ``nav`` links the example's other pages (the Starlette shop has a catalogue);
    ``map_url`` is where an example serves the map iframe, gated on "functional" (only
    the Starlette shop does).
    """
    nonce_attr = f' nonce="{html.escape(nonce)}"' if nonce else ""
    granted = ", ".join(n for n in POLICY.category_names if state.allows(n))
    seen = ", ".join(sorted(cookies)) or "none"
    status = "decided" if state.decided else "undecided"
    endpoint = POLICY.config.endpoint
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Example shop ({framework})</title>
<style{nonce_attr}>{PAGE_STYLE}</style>
</head>
<body>
{render_nav(nav)}
<main>
<h1>Example shop</h1>
<p>Hand-made mugs, bowls and plates from our workshop.</p>
<p id="status">Consent: <strong>{status}</strong>; granted: <span id="granted">{granted}</span>.</p>
<p id="seen">Cookies the app received: {html.escape(seen)}</p>
<p id="analytics-status">Analytics is not running.</p>
{render_map(map_url)}</main>
<footer><a href="{endpoint}/preferences?next=/" data-consent-settings>Cookie settings</a></footer>
<script type="text/plain" data-category="analytics"{nonce_attr}>
window.analyticsRuns = (window.analyticsRuns || 0) + 1;
document.getElementById("analytics-status").textContent =
  "Analytics is running (" + window.analyticsRuns + ")";
</script>
</body></html>"""


MAP_TEXT = "Workshop map: 12 Potter's Lane (an embedded functional widget)."

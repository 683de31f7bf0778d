"""The example shop's page, shared by the Starlette and FastAPI examples.

The page sets one cookie of every category on each visit; the middleware lets
through only those the visitor consented to.
"""

from __future__ import annotations

import html
import os
import secrets
import sys
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


def render_page(state: ConsentState, cookies: dict[str, str], *, framework: str) -> str:
    def row(name: str) -> str:
        category = POLICY.categories[name]
        checked = " checked" if state.allows(name) else ""
        disabled = " disabled" if category.required else ""
        return (
            f'<label><input type="checkbox" name="granted" value="{html.escape(name)}"'
            f"{checked}{disabled}> {html.escape(category.title)}</label><br>"
        )

    granted = ", ".join(n for n in POLICY.category_names if state.allows(n))
    seen = ", ".join(sorted(cookies)) or "none"
    status = "decided" if state.decided else "undecided"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Example shop ({framework})</title></head>
<body>
<h1>Example shop</h1>
<p id="status">Consent: <strong>{status}</strong>; granted: <span id="granted">{granted}</span>.</p>
<p id="seen">Cookies the app received: {html.escape(seen)}</p>
<form method="post" action="{POLICY.config.endpoint}">
  <input type="hidden" name="next" value="/">
  <button name="action" value="accept_all">Accept all</button>
  <button name="action" value="reject_all">Reject all</button>
</form>
<form method="post" action="{POLICY.config.endpoint}">
  <input type="hidden" name="next" value="/">
  <input type="hidden" name="action" value="save">
  {"".join(row(name) for name in POLICY.category_names)}
  <button>Save my choice</button>
</form>
</body></html>"""

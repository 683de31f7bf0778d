"""The hash of what a visitor was shown: every category's texts and cookie declarations."""

from __future__ import annotations

import hashlib
import json

from ..policy.policy import Policy


def shown_hash(policy: Policy) -> str:
    """SHA-256 over canonical JSON of the categories, in display order, with their texts.

    Any change to a title, description or cookie declaration changes the hash, so a
    record proves which version of the texts the visitor chose on.
    """
    categories = [
        {
            "name": name,
            "title": category.title,
            "description": category.description,
            "required": category.required,
            "cookies": [
                {
                    "name": cookie.name,
                    "description": cookie.description,
                    "duration": cookie.duration,
                    "provider": cookie.provider,
                }
                for cookie in category.cookies
            ],
        }
        for name, category in policy.categories.items()
    ]
    text = json.dumps(
        {"categories": categories}, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(text.encode()).hexdigest()

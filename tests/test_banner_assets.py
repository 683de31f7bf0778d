"""Static JS/CSS: content-hashed URLs, cached for a year, and light."""

from __future__ import annotations

import gzip
import re
from importlib.resources import files

import pytest

from .banner_support import client, html_app

BUDGET = 4 * 1024  # bytes, gzipped, JS + CSS together (DESIGN.md: at most 4 KB)


def asset_urls(text: str) -> list[str]:
    return re.findall(r'(?:href|src)="(/consent/static/[^"]+)"', text)


def test_assets_are_served_immutable_under_their_hash() -> None:
    c = client(html_app())
    urls = asset_urls(c.get("/").text)
    assert sorted(u.rsplit(".", 1)[1] for u in urls) == ["css", "js"]
    for url in urls:
        response = c.get(url)
        assert response.status_code == 200
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        name = url.rsplit("/", 1)[1]
        stem, digest, extension = name.split(".")
        assert response.headers["content-type"].startswith(
            "text/javascript" if extension == "js" else "text/css"
        )
        assert len(digest) == 12
        assert (
            response.content
            == files("consent.banner").joinpath("static", f"{stem}.{extension}").read_bytes()
        )


def test_unknown_hash_or_name_is_404() -> None:
    c = client(html_app())
    for path in (
        "/consent/static/banner.000000000000.js",
        "/consent/static/x.css",
        "/consent/nope",
    ):
        response = c.get(path)
        assert response.status_code == 404
        assert "immutable" not in response.headers.get("cache-control", "")


def test_banner_weight_within_budget(capsys: pytest.CaptureFixture[str]) -> None:
    static = files("consent.banner").joinpath("static")
    total = sum(
        len(gzip.compress(static.joinpath(name).read_bytes(), 9))
        for name in ("banner.js", "banner.css")
    )
    with capsys.disabled():  # shown in every test run, not only on failure
        print(f"\nbanner JS + CSS: {total} bytes gzipped (budget {BUDGET}) ", end="")
    assert total <= BUDGET


def test_no_eval_in_the_script() -> None:
    source = files("consent.banner").joinpath("static", "banner.js").read_text()
    for forbidden in ("eval(", "new Function", "innerHTML", "document.write"):
        assert forbidden not in source

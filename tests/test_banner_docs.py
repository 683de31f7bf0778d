"""The YAML examples of docs/banner.md are valid policy files."""

from __future__ import annotations

import re
from pathlib import Path

from consent import policy_from_string
from consent.policy.banner_settings import BannerSettings

from .banner_support import centre, client, html_app, policy_with
from .conftest import EXAMPLE_POLICY

DOC = Path(__file__).resolve().parents[1] / "docs" / "banner.md"


def banner_examples() -> list[str]:
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    return [block for block in blocks if block.startswith("banner:")]


def test_documented_defaults_are_the_defaults() -> None:
    defaults, *_ = banner_examples()
    # The example shop declares all five standard categories the default mapping names.
    example = Path(EXAMPLE_POLICY).read_text(encoding="utf-8").split("\nbanner:")[0]
    policy = policy_from_string(example + "\n" + defaults)
    assert policy.config.banner == BannerSettings()


def test_documented_texts_example_loads_and_renders() -> None:
    _, texts = banner_examples()
    policy = policy_with(texts)
    page = client(html_app(), policy).get("/", headers={"accept-language": "ar"}).text
    assert 'dir="rtl"' in page
    assert "قبول الكل" in page
    c = client(html_app(), policy)
    assert "Les cookies de la Poterie" in c.get("/", headers={"accept-language": "fr"}).text
    assert "Statistiques" in centre(c, headers={"accept-language": "fr"})

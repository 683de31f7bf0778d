"""The reports of a scan, written into one folder.

- ``scan.json``: the contract (version 1, ``ScanResult.as_json``), indented, its lists in
  the order ``aggregate`` sorted them, so two scans of an unchanged site are identical
  but for ``scanned_at``;
- ``policy-patch.yaml``: the declarations to add (``patch.policy_patch``);
- ``report.html``: one self-contained page for people (inline CSS and a few lines of
  script that sort the tables; the screenshot as a ``data:`` URL), which opens from a
  CI artefact or a mail without reaching anything.

Everything in the page comes from the site that was scanned (names, pages, hosts), so
Jinja2 escapes every value and the page links to nothing.
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined

from ..policy.policy import Policy
from .findings import DEFAULT_FAIL_ON, FINDING_KINDS, PHASE_WORDS, failing, service_words
from .model import PHASES, Match, ScanResult
from .patch import duration_words, policy_patch

SCAN_JSON = "scan.json"
POLICY_PATCH = "policy-patch.yaml"
REPORT_HTML = "report.html"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
FINDING_TITLES = {
    "before_consent": "Before consent",
    "after_reject": "After reject all",
    "undeclared": "Undeclared",
    "unused_declaration": "Declared, never seen",
}


@dataclass(frozen=True, slots=True)
class _MatchView:
    text: str
    source: str
    review: bool


def _match_view(match: Match | None) -> _MatchView:
    if match is None:
        return _MatchView("", "", False)
    who = service_words(match)
    text = f"{match.category}: {who}" if who else match.category
    return _MatchView(text, match.source, match.review)


def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("consent.discovery", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_html(
    result: ScanResult,
    policy: Policy | None,
    screenshot: bytes | None,
    *,
    fail_on: Collection[str] = DEFAULT_FAIL_ON,
) -> str:
    """``report.html``'s text."""
    counts = Counter(finding.kind for finding in result.findings)
    failed = failing(result.findings, fail_on)
    # Only a PNG goes into the data: URL the page declares: anything else is left out
    # rather than shown as a broken (or mislabelled) image.
    image = None
    if screenshot is not None and screenshot.startswith(_PNG_SIGNATURE):
        image = "data:image/png;base64," + base64.b64encode(screenshot).decode("ascii")
    template = _environment().get_template(REPORT_HTML)
    return template.render(
        result=result,
        policy_source=policy.source if policy is not None else None,
        phases=PHASES,
        phase_words=PHASE_WORDS,
        kinds=FINDING_KINDS,
        titles=FINDING_TITLES,
        counts=counts,
        fail_on=[kind for kind in FINDING_KINDS if kind in fail_on],
        failed=len(failed),
        third_party_cookies=sum(entry.party == "third" for entry in result.cookies),
        screenshot=image,
        match_view=_match_view,
        duration=duration_words,
    )


def write_reports(
    result: ScanResult,
    out_dir: str | Path,
    policy: Policy | None,
    screenshot: bytes | None,
    *,
    fail_on: Collection[str] = DEFAULT_FAIL_ON,
) -> list[Path]:
    """Write ``scan.json``, ``policy-patch.yaml`` and ``report.html``; their paths."""
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    texts = {
        SCAN_JSON: json.dumps(result.as_json(), indent=2, ensure_ascii=False) + "\n",
        POLICY_PATCH: policy_patch(result, policy),
        REPORT_HTML: render_html(result, policy, screenshot, fail_on=fail_on),
    }
    paths = []
    for name, text in texts.items():
        path = folder / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths

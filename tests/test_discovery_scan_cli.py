"""``consent scan``: options, exit status 0/1/2 and the reports, with a fake crawl."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

import pytest

from consent.discovery.model import PhaseResult
from consent.discovery.scan_cli import (
    ProgressCallback,
    ScanError,
    ScanTarget,
    add_scan_command,
    playwright_crawl,
    run_scan,
)
from tests.test_discovery_findings import HOME, NOTES, POLICY_TEXT, cookie, sample_results

URL = "https://www.example.com/"


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="consent")
    add_scan_command(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["scan", *argv])


class FakeCrawl:
    """Returns hand-built phases and remembers what it was asked."""

    def __init__(self, results: list[PhaseResult] | None = None) -> None:
        self.results = sample_results() if results is None else results
        self.targets: list[ScanTarget] = []

    async def __call__(self, target: ScanTarget, progress: ProgressCallback) -> list[PhaseResult]:
        self.targets.append(target)
        for phase in self.results:
            for done, page in enumerate(phase.pages, 1):
                progress(phase.phase, done, len(phase.pages), page)
        return self.results


def clean_site() -> list[PhaseResult]:
    return [
        PhaseResult(phase, [HOME], [cookie(phase, "sid")])
        for phase in ("before", "rejected", "accepted")
    ]


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder with its consent.yaml, as the working directory."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "consent.yaml").write_text(POLICY_TEXT)
    return tmp_path


def scan(
    argv: list[str], capsys: pytest.CaptureFixture[str], crawl: FakeCrawl | None = None
) -> tuple[int, str, str]:
    status = run_scan(parse([URL, *argv]), crawler=crawl or FakeCrawl())
    out, err = capsys.readouterr()
    return status, out, err


def test_a_breach_exits_1_and_writes_the_reports(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    crawl = FakeCrawl()
    status, out, err = scan([], capsys, crawl)
    assert status == 1
    folder = site / "consent-scan"
    assert sorted(path.name for path in folder.iterdir()) == [
        "policy-patch.yaml",
        "report.html",
        "scan.json",
    ]
    data = json.loads((folder / "scan.json").read_text())
    assert data["version"] == 1
    assert data["site"] == URL
    lines = out.splitlines()
    assert lines[0].startswith(f"Scanned {URL}: 2 pages, 10 cookies (1 third-party), ")
    assert lines[1] == "Policy: consent.yaml."
    assert lines[2].startswith("Findings: ")
    # The policy declares _ga as analytics: it was there before any choice.
    assert "  before_consent: _ga (.example.com)" in lines
    assert f"Reports: {Path('consent-scan') / 'scan.json'}" in out
    assert lines[-1].startswith("FAILED: ")
    assert lines[-1].endswith("of the kinds that fail (before_consent, after_reject).")
    # The crawl was asked for the policy's endpoint; progress went to standard error.
    assert crawl.targets == [ScanTarget(URL, "/consent", 30, None)]
    assert "before any choice: 2 pages read" in err


def test_a_clean_site_exits_0(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (site / "consent.yaml").write_text(
        "endpoint: /privacy/consent\ncategories:\n  necessary:\n    title: N\n"
        "    required: true\n    cookies:\n      - name: sid\n"
    )
    crawl = FakeCrawl(clean_site())
    args = ["--out", "reports", "--max-pages", "5", "--browser", "/opt/chrome"]
    status, out, _ = scan(args, capsys, crawl)
    assert status == 0
    assert (
        out.splitlines()[-1]
        == "Passed: nothing of the kinds that fail (before_consent, after_reject)."
    )
    assert (site / "reports" / "report.html").is_file()
    assert crawl.targets == [ScanTarget(URL, "/privacy/consent", 5, "/opt/chrome")]


@pytest.mark.parametrize(
    ("fail_on", "status"),
    [
        ("none", 0),
        ("", 0),
        ("undeclared", 1),
        ("unused_declaration", 1),
        ("after_reject", 1),
        ("before_consent, after_reject,before_consent", 1),
    ],
)
def test_fail_on_chooses_what_fails(
    site: Path, capsys: pytest.CaptureFixture[str], fail_on: str, status: int
) -> None:
    assert scan([f"--fail-on={fail_on}"], capsys)[0] == status


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([URL, "--fail-on", "before_consent,cookies"], "unknown finding kind cookies"),
        (["ftp://example.com/"], "is not a web address"),
        (["example.com"], "is not a web address"),
        ([URL, "--max-pages", "0"], "choose between 1 and 1000 pages"),
        ([URL, "--max-pages", "many"], "is not a whole number"),
    ],
)
def test_usage_errors_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_a_bad_policy_exits_2_with_file_and_line(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (site / "consent.yaml").write_text("categories:\n  necessary:\n    title: N\n    colour: red\n")
    status, out, err = scan([], capsys)
    assert status == 2
    assert out == ""
    assert err.startswith("error: consent.yaml:4: ")
    status, _, err = scan(["--config", "missing.yaml"], capsys)
    assert status == 2
    assert err.startswith("error: missing.yaml")


def test_without_a_policy_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    crawl = FakeCrawl()
    status, out, _ = scan(["--fail-on", "none"], capsys, crawl)
    assert status == 0
    assert "Policy: none (every cookie is undeclared)." in out.splitlines()
    assert crawl.targets[0].endpoint == "/consent"
    assert (
        "No policy file was given" in (tmp_path / "consent-scan" / "policy-patch.yaml").read_text()
    )


def test_a_crawl_that_cannot_run_exits_2(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    async def fails(target: ScanTarget, progress: ProgressCallback) -> list[PhaseResult]:
        raise ScanError("no Chromium found: install one")

    status = run_scan(parse([URL]), crawler=fails)
    out, err = capsys.readouterr()
    assert (status, out) == (2, "")
    assert err == "error: no Chromium found: install one\n"
    assert not (site / "consent-scan").exists()


def test_a_crawl_that_read_nothing_exits_2(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = scan([], capsys, FakeCrawl([PhaseResult("before")]))
    assert status == 2
    assert err.endswith(f"error: no page of {URL} could be read\n")


def test_reports_that_cannot_be_written_exit_2(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (site / "taken").write_text("a file, not a folder")
    status, _, err = scan(["--out", "taken"], capsys)
    assert status == 2
    assert "error: cannot write the reports to taken" in err


def test_the_middlewares_notes_are_merged(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (site / "notes.json").write_text(json.dumps(NOTES))
    status, out, _ = scan(["--undeclared", "notes.json"], capsys)
    assert status == 1
    assert "Policy: consent.yaml; the middleware's notes from notes.json." in out
    data = json.loads((site / "consent-scan" / "scan.json").read_text())
    [basket] = [f for f in data["findings"] if f["name"] == "basket_ab"]
    assert basket["kind"] == "undeclared"
    assert "seen by the middleware 5 times, last on /basket" in basket["detail"]


def test_the_policys_notes_file_is_the_default(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (site / "consent.yaml").write_text("undeclared_notes: kept.json\n" + POLICY_TEXT)
    status, out, _ = scan([], capsys)
    assert status == 1
    assert "notes" not in out  # the file does not exist (yet): nothing to merge
    (site / "kept.json").write_text(json.dumps({"version": 1, "writers": {}, "names": NOTES}))
    status, out, _ = scan([], capsys)
    assert status == 1
    assert "the middleware's notes from kept.json" in out


def test_bad_notes_exit_2(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (site / "notes.json").write_text('[{"name": "x"}]')
    status, _, err = scan(["--undeclared", "notes.json"], capsys)
    assert status == 2
    assert err.startswith("error: notes.json: item 0, first_seen: ")


def test_a_missing_cookie_database_exits_2(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = scan(["--cookie-db", "missing.csv"], capsys)
    assert status == 2
    assert err.startswith("error: missing.csv: ")


def test_without_playwright_the_scan_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "playwright.async_api", None)
    target = ScanTarget(URL, "/consent", 1, None)
    with pytest.raises(ScanError, match=r"pip install 'asgi-cookie-consent\[scan\]'"):
        asyncio.run(playwright_crawl(target, lambda *_: None))


def test_a_missing_browser_is_a_scan_error(tmp_path: Path) -> None:
    target = ScanTarget(URL, "/consent", 1, str(tmp_path / "no-such-chrome"))
    with pytest.raises(ScanError, match="no-such-chrome: does not exist"):
        asyncio.run(playwright_crawl(target, lambda *_: None))


def test_a_failing_browser_is_a_scan_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from playwright.async_api import Error as PlaywrightError

    from consent.discovery import crawl

    async def fails(options: crawl.CrawlOptions, progress: object) -> list[PhaseResult]:
        assert options == crawl.CrawlOptions(URL, "/shop/consent", 3, "/opt/chrome")
        raise PlaywrightError("net::ERR_CONNECTION_REFUSED\nCall log:\n  - navigating")

    monkeypatch.setattr(crawl, "crawl", fails)
    target = ScanTarget(URL, "/shop/consent", 3, "/opt/chrome")
    with pytest.raises(ScanError, match=r"^the browser failed: net::ERR_CONNECTION_REFUSED$"):
        asyncio.run(playwright_crawl(target, lambda *_: None))


def test_the_summary_lists_ten_failing_findings(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    names = [f"_ga_{index:02}" for index in range(12)]
    crawl = FakeCrawl([PhaseResult("before", [HOME], [cookie("before", n) for n in names])])
    status, out, _ = scan([], capsys, crawl)
    assert status == 1
    listed = [line for line in out.splitlines() if line.startswith("  before_consent: ")]
    assert len(listed) == 10
    assert "  and 2 more in report.html" in out.splitlines()
    assert "FAILED: 12 findings of the kinds that fail (before_consent, after_reject)." in out


def test_help_is_plain_text(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse(["--help"])
    text = capsys.readouterr().out
    assert "report.html        one page to read" in text
    assert "0 when nothing of the --fail-on kinds was found" in text
    assert "``" not in text


def test_a_cookie_database_file_classifies_what_nothing_else_knows(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sample = Path(__file__).parent / "fixtures" / "open-cookie-database-sample.csv"
    results = [PhaseResult("accepted", [HOME], [cookie("accepted", "acme_id")])]
    status, _, _ = scan(["--cookie-db", str(sample)], capsys, FakeCrawl(results))
    assert status == 0  # seen only after accept all: no breach
    data = json.loads((site / "consent-scan" / "scan.json").read_text())
    [acme] = [entry for entry in data["cookies"] if entry["name"] == "acme_id"]
    assert acme["match"]["source"] == "open-cookie-database"
    assert (acme["match"]["category"], acme["match"]["service"]) == ("analytics", "Acme Analytics")

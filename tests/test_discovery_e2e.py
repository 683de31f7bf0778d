"""``consent scan`` end to end: the command's own path, a real Chromium, the test shop.

The shop of ``tests/discovery_site`` is scanned twice through :func:`run_scan`: with its
policy as it is (the planted ``_tracker`` fails the scan), then with that policy and the
scan's ``policy-patch.yaml`` merged into it, as a person would merge it. Outside CI a
missing Chromium skips the module with a message; in CI (``CI=true``) it fails it.
"""

from __future__ import annotations

import argparse
import functools
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from consent.cli import main as consent_main
from consent.discovery.model import PHASES
from consent.discovery.scan_cli import add_scan_command, playwright_crawl, run_scan
from tests.discovery_site import POLICY, SHOP_HOST, TRACKER_HOST, Sites, discovery_sites
from tests.test_discovery_crawl import chromium_or_skip
from tests.test_discovery_patch import apply_patch

pytestmark = pytest.mark.browser


@dataclass(frozen=True)
class Run:
    """One ``consent scan``: its exit status, what it printed and the files it wrote."""

    status: int
    out: str
    folder: Path

    @property
    def data(self) -> dict[str, Any]:
        result: dict[str, Any] = json.loads((self.folder / "scan.json").read_text())
        return result

    @property
    def patch(self) -> str:
        return (self.folder / "policy-patch.yaml").read_text()

    def cookie(self, name: str) -> dict[str, Any]:
        entries: list[dict[str, Any]] = self.data["cookies"]
        [entry] = [entry for entry in entries if entry["name"] == name]
        return entry

    def storage(self, key: str) -> tuple[str, str, list[str]]:
        [entry] = [entry for entry in self.data["storage"] if entry["key"] == key]
        return entry["kind"], entry["origin"], entry["phases"]

    def findings(self, kind: str) -> dict[str, dict[str, Any]]:
        return {f["name"]: f for f in self.data["findings"] if f["kind"] == kind}


def scan(sites: Sites, config: Path, out: Path) -> Run:
    parser = argparse.ArgumentParser(prog="consent")
    add_scan_command(parser.add_subparsers(dest="command", required=True))
    argv = ["scan", sites.shop + "/", "--config", str(config), "--out", str(out)]
    crawler = functools.partial(playwright_crawl, extra_args=sites.chromium_args)
    printed = io.StringIO()
    status = run_scan(parser.parse_args(argv), crawler=crawler, out=printed, err=io.StringIO())
    return Run(status, printed.getvalue(), out)


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sites]:
    chromium_or_skip()
    # No copy of the Open Cookie Database from this machine's cache: the same matches
    # wherever the tests run.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
        with discovery_sites() as served:
            yield served


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("project")


@pytest.fixture(scope="module")
def first(sites: Sites, folder: Path) -> Run:
    config = folder / "consent.yaml"
    config.write_text(POLICY)
    return scan(sites, config, folder / "first")


@pytest.fixture(scope="module")
def patched(sites: Sites, folder: Path, first: Run) -> tuple[Path, Run]:
    config = folder / "patched.yaml"
    config.write_text(apply_patch(POLICY, first.patch))
    return config, scan(sites, config, folder / "second")


def test_the_planted_tracker_fails_the_scan(first: Run) -> None:
    assert first.status == 1
    tracker = first.findings("before_consent")["_tracker"]
    assert tracker["domain"] == SHOP_HOST
    assert "set by a script" in tracker["detail"]
    assert "_tracker" in first.findings("after_reject")
    lines = first.out.splitlines()
    assert f"  before_consent: _tracker ({SHOP_HOST})" in lines
    assert lines[-1].startswith("FAILED: ")
    assert sorted(path.name for path in first.folder.iterdir()) == [
        "policy-patch.yaml",
        "report.html",
        "scan.json",
    ]


def test_first_party_cookies_in_their_phases(first: Run) -> None:
    sid = first.cookie("sid")
    assert (sid["party"], sid["phases"], sid["declared"]) == ("first", list(PHASES), "necessary")
    assert (sid["set_by"], sid["match"]["source"]) == (["http"], "policy")
    ga = first.cookie("_ga")
    assert (ga["party"], ga["phases"], ga["declared"]) == ("first", ["accepted"], "analytics")
    assert ga["match"]["source"] == "policy"  # declared: the policy comes first
    assert ga["match"]["service"] == "google-analytics-4"  # the policy names its service
    # Written on the shop's page by the tracker's tag, which loads only once granted.
    tag = first.cookie("_tp_js")
    assert (tag["party"], tag["domain"], tag["phases"]) == ("first", SHOP_HOST, ["accepted"])
    tracker = first.cookie("_tracker")
    assert (tracker["party"], tracker["phases"], tracker["declared"]) == (
        "first",
        list(PHASES),
        None,
    )
    assert first.cookie("consent")["phases"] == ["rejected", "accepted"]
    assert "consent" not in first.findings("undeclared")  # the choice, not a finding


def test_the_third_party_frame_s_cookies(first: Run) -> None:
    for name in ("_tf", "_tf_http"):
        cookie = first.cookie(name)
        assert (cookie["party"], cookie["domain"]) == ("third", TRACKER_HOST)
        assert cookie["phases"] == list(PHASES)
        assert "a third-party cookie" in first.findings("before_consent")[name]["detail"]
    assert first.cookie("_tf")["set_by"] == ["js"]
    assert first.cookie("_tf_http")["set_by"] == ["http"]


def test_storage_under_its_origin_and_the_third_party_host(first: Run, sites: Sites) -> None:
    assert first.storage("theme") == ("localStorage", sites.shop, list(PHASES))
    assert first.storage("from_sitemap") == ("sessionStorage", sites.shop, list(PHASES))
    assert first.storage("tf_key") == ("localStorage", sites.tracker, list(PHASES))
    assert first.storage("tracker-db") == ("indexedDB", sites.shop, ["accepted"])
    hosts = {entry["host"]: entry["phases"] for entry in first.data["third_party_hosts"]}
    assert hosts == {TRACKER_HOST: list(PHASES)}


def test_the_patch_declares_every_undeclared_cookie(first: Run) -> None:
    undeclared = set(first.findings("undeclared"))
    assert undeclared == {"_tracker", "_tp_js", "pref_cs", "_tf", "_tf_http"}
    proposed = yaml.safe_load(first.patch)["categories"]
    # Nothing matched them: each waits for consent as "functional", third-party ones too.
    assert list(proposed) == ["functional"]
    assert {cookie["name"] for cookie in proposed["functional"]["cookies"]} == undeclared


def test_a_second_scan_with_the_patch_merged(
    patched: tuple[Path, Run], capsys: pytest.CaptureFixture[str]
) -> None:
    config, second = patched
    assert second.findings("undeclared") == {}
    for name in ("_tracker", "_tf"):
        assert second.cookie(name)["declared"] == "functional"
        assert second.cookie(name)["match"]["source"] == "policy"
    # Declared is not consented: the planted tracker still fails the scan.
    assert second.status == 1
    assert "_tracker" in second.findings("before_consent")
    assert yaml.safe_load(second.patch)["categories"] == {}
    assert consent_main(["check", str(config)]) == 0
    assert f"{config}: valid." in capsys.readouterr().out

"""``consent scan URL``: crawl a site in Chromium, classify what it stores, write reports.

The exit status is meant for a site's own CI: 0 when nothing of the ``--fail-on`` kinds
was found, 1 when something was, 2 when the scan could not run (a bad option, policy
file or notes file, no Playwright, no browser, a browser that failed).

Only the crawl needs Playwright, and it is imported when the crawl starts: ``consent
--help`` and every other command work without the ``scan`` extra. The crawl is a
parameter of :func:`run_scan`, so the rest of the command is tested without a browser.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

from .. import DISTRIBUTION
from ..errors import ConfigError, ConsentError
from ..policy.catalogue import load_catalogue
from ..policy.policy import Policy, load_policy
from .aggregate import MiddlewareNote, NotesError, aggregate, read_notes
from .browser import BrowserNotFound
from .classify import Classifier
from .cookiedb import CookieDatabaseError, load_cookie_db
from .findings import DEFAULT_FAIL_ON, FINDING_KINDS, failing, findings, printable
from .model import Phase, PhaseResult, ScanResult
from .progress import Progress
from .report import write_reports

DEFAULT_CONFIG = "consent.yaml"
DEFAULT_OUT = "consent-scan"
MAX_PAGES_LIMIT = 1000
# The summary lists this many failing findings; report.html has them all.
_FINDINGS_SHOWN = 10

ProgressCallback = Callable[[Phase, int, int, str], None]


@dataclass(frozen=True, slots=True)
class ScanTarget:
    """What the command asks the crawl to do."""

    url: str
    endpoint: str
    max_pages: int
    browser: str | None


Crawler = Callable[[ScanTarget, ProgressCallback], Coroutine[Any, Any, list[PhaseResult]]]


class ScanError(ConsentError):
    """The scan cannot run (exit status 2); the message says why and what to do."""


async def playwright_crawl(
    target: ScanTarget, progress: ProgressCallback, *, extra_args: Sequence[str] = ()
) -> list[PhaseResult]:
    """The real crawl: Playwright driving Chromium through the three phases.

    ``extra_args`` are more Chromium arguments; bind them with ``functools.partial`` to
    pass this as the crawler of :func:`run_scan` (the tests map host names to loopback).
    """
    try:
        from playwright.async_api import Error as PlaywrightError
    except ImportError:
        raise ScanError(
            f"consent scan needs Playwright: install the scan extra: pip install "
            f"'{DISTRIBUTION}[scan]'"
        ) from None
    from .crawl import CrawlError, CrawlOptions, crawl, first_line

    options = CrawlOptions(
        start_url=target.url,
        endpoint=target.endpoint,
        max_pages=target.max_pages,
        browser_path=target.browser,
        extra_args=tuple(extra_args),
    )
    try:
        return await crawl(options, progress)
    except (BrowserNotFound, CrawlError) as error:
        raise ScanError(str(error)) from None
    except PlaywrightError as error:
        raise ScanError(f"the browser failed: {first_line(error)}") from None


# -- options ------------------------------------------------------------------------------------


def _url(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a web address; give one such as https://www.example.com/"
        )
    return text


def _max_pages(text: str) -> int:
    try:
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= count <= MAX_PAGES_LIMIT:
        raise argparse.ArgumentTypeError(f"choose between 1 and {MAX_PAGES_LIMIT} pages")
    return count


def _fail_on(text: str) -> tuple[str, ...]:
    """``before_consent,after_reject`` → the kinds; ``none`` (or nothing) never fails."""
    kinds = [kind.strip() for kind in text.split(",") if kind.strip()]
    if kinds == ["none"]:
        return ()
    unknown = [kind for kind in kinds if kind not in FINDING_KINDS]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown finding kind {', '.join(unknown)}; choose among "
            f"{', '.join(FINDING_KINDS)} (comma-separated), or none"
        )
    return tuple(dict.fromkeys(kinds))


DESCRIPTION = """\
Crawl a site in Chromium three times: before any choice, after "reject all"
and after "accept all". Every cookie and storage key (server and script,
first and third party, every frame) and every third-party host is noted,
classified from the policy file, the service catalogue and the Open Cookie
Database (consent cookie-db update fetches it), and written to --out:

  scan.json          every cookie, storage key, host and finding (version 1)
  policy-patch.yaml  the declarations the policy file lacks, to review and merge
  report.html        one page to read: summary, findings, sortable tables

Exit status: 0 when nothing of the --fail-on kinds was found, 1 when something
was, 2 when the scan could not run. Needs the scan extra:
pip install 'asgi-cookie-consent[scan]'.
"""

EPILOG = """\
finding kinds:
  before_consent      a cookie or storage key that needs consent, before any choice
  after_reject        the same, after "reject all"
  undeclared          a cookie the policy file does not declare
  unused_declaration  a declaration no cookie seen matches

examples:
  consent scan https://www.example.com/ --config consent.yaml
  consent scan http://localhost:8000/ --max-pages 10 --fail-on before_consent
  consent scan https://shop.example.com/ --undeclared undeclared-notes.json
"""


def add_scan_command(commands: Any) -> argparse.ArgumentParser:
    """Register ``consent scan`` on the main parser's sub-commands."""
    scan: argparse.ArgumentParser = commands.add_parser(
        "scan",
        help="crawl a site and report the cookies it sets before and after consent",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    scan.add_argument("url", type=_url, help="the first page to read, e.g. https://example.com/")
    scan.add_argument(
        "--config",
        metavar="FILE",
        help=f"the policy file (default {DEFAULT_CONFIG} when there is one; without a "
        "policy every cookie is undeclared and the patch is a whole policy to start from)",
    )
    scan.add_argument(
        "--max-pages",
        type=_max_pages,
        default=30,
        metavar="N",
        help="pages to read per phase, following the site's own links (default 30)",
    )
    scan.add_argument(
        "--out",
        default=DEFAULT_OUT,
        metavar="DIR",
        help=f"the folder for the reports (default {DEFAULT_OUT})",
    )
    scan.add_argument(
        "--fail-on",
        type=_fail_on,
        default=DEFAULT_FAIL_ON,
        metavar="KINDS",
        help="finding kinds that make the exit status 1, comma-separated, or none "
        f"(default {','.join(DEFAULT_FAIL_ON)})",
    )
    scan.add_argument(
        "--browser",
        metavar="PATH",
        help="the Chromium or Chrome to drive (default: Playwright's own, else the system's)",
    )
    scan.add_argument(
        "--cookie-db",
        metavar="FILE",
        help="an Open Cookie Database CSV to classify with (default: the copy that "
        "consent cookie-db update keeps, if there is one)",
    )
    scan.add_argument(
        "--undeclared",
        metavar="FILE",
        help="the undeclared cookie names the middleware noted (its undeclared_notes file), "
        "for pages the crawl cannot reach; default: the policy's undeclared_notes file, "
        "when it exists",
    )
    scan.set_defaults(run=run_scan)
    return scan


# -- running ------------------------------------------------------------------------------------


def _policy(config: str | None) -> Policy | None:
    if config is None:
        if not Path(DEFAULT_CONFIG).is_file():
            return None
        config = DEFAULT_CONFIG
    return load_policy(config)


def _notes(path: str | None, policy: Policy | None) -> tuple[list[MiddlewareNote], str | None]:
    # The file the policy tells the middleware to keep, when this machine has it.
    kept = policy.config.undeclared_notes if policy is not None else None
    if path is None and kept is not None and Path(kept).is_file():
        path = kept
    if path is None:
        return [], None
    return read_notes(path), path


def run_scan(
    args: argparse.Namespace,
    *,
    crawler: Crawler = playwright_crawl,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Run ``consent scan`` as ``args`` say; the exit status."""
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    try:
        policy = _policy(args.config)
        notes, notes_path = _notes(args.undeclared, policy)
        classifier = Classifier(policy, load_catalogue(), load_cookie_db(args.cookie_db))
    except (ConfigError, NotesError, CookieDatabaseError) as error:
        print(f"error: {error}", file=err)
        return 2

    target = ScanTarget(
        url=args.url,
        endpoint=policy.config.endpoint if policy is not None else "/consent",
        max_pages=args.max_pages,
        browser=args.browser,
    )
    try:
        with Progress(err) as progress:
            results = asyncio.run(crawler(target, progress))
    except ScanError as error:
        print(f"error: {error}", file=err)
        return 2
    if not any(phase.pages for phase in results):
        print(f"error: no page of {args.url} could be read", file=err)
        return 2

    result = aggregate(results, args.url, classifier, policy, notes=notes)
    result.findings = findings(result, policy, sightings=results, notes=notes)
    screenshot = next((phase.screenshot for phase in results if phase.screenshot), None)
    try:
        paths = write_reports(result, args.out, policy, screenshot, fail_on=args.fail_on)
    except OSError as error:
        print(f"error: cannot write the reports to {args.out}: {error}", file=err)
        return 2
    failed = failing(result.findings, args.fail_on)
    print(summary(result, policy, paths, args.fail_on, notes_path), file=out)
    return 1 if failed else 0


def _count(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def summary(
    result: ScanResult,
    policy: Policy | None,
    paths: Sequence[Path],
    fail_on: Sequence[str],
    notes_path: str | None = None,
) -> str:
    """What the command prints when the scan is done."""
    third = sum(entry.party == "third" for entry in result.cookies)
    lines = [
        f"Scanned {printable(result.site)}: {_count(len(result.pages), 'page')}, "
        f"{_count(len(result.cookies), 'cookie')} ({third} third-party), "
        f"{_count(len(result.storage), 'storage key')}, "
        f"{_count(len(result.third_party_hosts), 'third-party host')}.",
        f"Policy: {policy.source if policy is not None else 'none (every cookie is undeclared)'}"
        + (f"; the middleware's notes from {notes_path}" if notes_path else "")
        + ".",
    ]
    counts = [f"{sum(f.kind == kind for f in result.findings)} {kind}" for kind in FINDING_KINDS]
    lines.append("Findings: " + ", ".join(counts) + ".")
    failed = failing(result.findings, fail_on)
    for finding in failed[:_FINDINGS_SHOWN]:
        where = f" ({finding.domain})" if finding.domain else ""
        lines.append(printable(f"  {finding.kind}: {finding.name}{where}"))
    if len(failed) > _FINDINGS_SHOWN:
        lines.append(f"  and {len(failed) - _FINDINGS_SHOWN} more in report.html")
    lines.append("Reports: " + ", ".join(str(path) for path in paths))
    kinds = ", ".join(fail_on) or "none"
    if failed:
        lines.append(f"FAILED: {_count(len(failed), 'finding')} of the kinds that fail ({kinds}).")
    else:
        lines.append(f"Passed: nothing of the kinds that fail ({kinds}).")
    return "\n".join(lines)

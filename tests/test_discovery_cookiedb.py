"""The Open Cookie Database: reading, lookups, and ``consent cookie-db update``
(consent/discovery/cookiedb.py, consent/discovery/cli.py).

Most tests read ``tests/fixtures/open-cookie-database-sample.csv``, rows in the real
format with invented platforms; one reads the real copy when this machine has it. The
downloads come from a server on loopback.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from consent.discovery.cli import add_cookie_db_commands
from consent.discovery.cookiedb import (
    MAX_BYTES,
    SOURCE_URL,
    CookieDatabase,
    CookieDatabaseError,
    default_cookie_db_path,
    load_cookie_db,
    map_category,
    parse_cookie_db,
    read_cookie_db,
    update_cookie_db,
)
from consent.discovery.model import Match

SAMPLE = Path(__file__).parent / "fixtures" / "open-cookie-database-sample.csv"
REAL = Path("/work/shared/data/open-cookie-database/open-cookie-database.csv")
HEADER = SAMPLE.read_text(encoding="utf-8").splitlines()[0]


@pytest.fixture(scope="module")
def db() -> CookieDatabase:
    return read_cookie_db(SAMPLE)


def test_the_sample_reads_with_its_bad_rows_counted(db: CookieDatabase) -> None:
    # Four broken rows: too few fields, no name, a Wildcard of "yes", too many fields.
    assert (len(db), db.skipped) == (16, 4)
    assert db.source == str(SAMPLE)
    assert db.match("broken_wildcard") is None
    assert db.match("broken_long_row") is None


def test_an_exact_name(db: CookieDatabase) -> None:
    assert db.match("acme_id") == Match(
        category="analytics",
        source="open-cookie-database",
        service="Acme Analytics",
        provider="Acme Corp",
        review=False,
        description="Counts visitors, one random id per browser",
    )


def test_names_are_case_sensitive_and_never_substrings(db: CookieDatabase) -> None:
    assert db.match("ACME_ID") is None
    assert db.match("xacme_id") is None
    assert db.match("acme_i") is None  # acme_id is not a wildcard row
    assert db.match("acme_idx") is None


def test_a_description_over_several_lines_becomes_one(db: CookieDatabase) -> None:
    match = db.match("wrapped_id")
    assert match is not None
    assert match.description == "A description over two lines"


@pytest.mark.parametrize(
    ("domain", "service", "category", "review"),
    [
        # The row for the cookie's registrable domain, whatever the sub-domain.
        (".adnet.example", "AdNet", "advertisement", False),
        ("sync.eu.adnet.example", "AdNet", "advertisement", False),
        ("www.shop.example", "Other Shop", "functional", True),  # Functional: unsure
        # No row for this domain (a look-alike is not the same site): the name alone,
        # marked for review, since two platforms list it and neither for this domain.
        ("evil-adnet.example", "AdNet", "advertisement", True),
        (None, "AdNet", "advertisement", True),
    ],
)
def test_name_and_domain_before_name_alone(
    db: CookieDatabase, domain: str | None, service: str, category: str, review: bool
) -> None:
    match = db.match("uid", domain)
    assert match is not None
    assert (match.service, match.category, match.review) == (service, category, review)


def test_a_domain_column_with_notes_and_alternatives(db: CookieDatabase) -> None:
    # ".ads.multi.example (3rd party) or .multi-cdn.example (3rd party)"
    for domain in ("ads.multi.example", "static.multi-cdn.example"):
        match = db.match("mx_id", domain)
        assert match is not None
        assert (match.service, match.review) == ("Multi Ads", False)
    elsewhere = db.match("mx_id", "www.example.org")
    assert elsewhere is not None
    assert elsewhere.review is True


def test_a_wildcard_row_is_a_prefix_and_the_longest_wins(db: CookieDatabase) -> None:
    visit = db.match("acme_ses_1234")
    assert visit is not None
    assert (visit.category, visit.service, visit.review) == ("analytics", "Acme Analytics", True)
    campaign = db.match("acme_ses_ads_99")
    assert campaign is not None
    assert (campaign.category, campaign.review) == ("advertisement", True)


def test_a_prefix_of_fewer_than_four_characters_never_matches(db: CookieDatabase) -> None:
    assert db.match("tt_anything") is None
    exact = db.match("tt_")  # the row's own name still matches exactly
    assert exact is not None
    assert exact.service == "Tiny Tracker"


@pytest.mark.parametrize(
    ("name", "category", "review"),
    [
        ("acme_id", "analytics", False),  # Analytics
        ("lk_session", "advertisement", False),  # Marketing, whatever the name says
        ("guard_bm", "necessary", False),  # Security
        ("fx_session", "necessary", False),  # Necessary
        ("chatbox_state", "functional", True),  # Functional: could be necessary
        ("pt_prefs", "functional", True),  # Personalization
        ("odd_flag", "functional", True),  # a category the mapping does not know
    ],
)
def test_categories_map_onto_the_policy(
    db: CookieDatabase, name: str, category: str, review: bool
) -> None:
    match = db.match(name)
    assert match is not None
    assert (match.category, match.review) == (category, review)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Marketing", ("advertisement", False)),
        (" analytics ", ("analytics", False)),
        ("Security", ("necessary", False)),
        ("Necessary", ("necessary", False)),
        ("Functional", ("functional", True)),
        ("Personalization", ("functional", True)),
        ("", ("functional", True)),
        ("Necessary-ish", ("functional", True)),
    ],
)
def test_map_category(text: str, expected: tuple[str, bool]) -> None:
    assert map_category(text) == expected


# -- files that are not the database --------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"name,value\nsid,1\n", "lacks the column"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "not the Open Cookie Database CSV"),
        (b"<!DOCTYPE html><html><body>Not found</body></html>\n", "lacks the column"),
    ],
)
def test_a_file_that_is_not_the_database(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "cookies.csv"
    path.write_bytes(content)
    with pytest.raises(CookieDatabaseError, match=message) as raised:
        read_cookie_db(path)
    assert raised.value.file == str(path)
    assert str(path) in str(raised.value)


def test_a_missing_file_named_by_the_user_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    with pytest.raises(CookieDatabaseError, match="cannot read it") as raised:
        load_cookie_db(missing)
    assert raised.value.file == str(missing)
    assert isinstance(raised.value, ValueError)  # what `consent scan` catches


def test_columns_in_another_order_with_a_bom_and_crlf() -> None:
    text = (
        "\ufeffWildcard match,Cookie / Data Key name,Platform,Category,Domain,Description,"
        "Retention period,Data Controller\r\n"
        "0,abc_id,Abc,Analytics,,An id,1 year,Abc Inc\r\n"
        "1,abc_tmp_,Abc,Marketing,,A prefix,1 day,Abc Inc\r\n"
    )
    db = parse_cookie_db(text, source="reordered.csv")
    assert (len(db), db.skipped) == (2, 0)
    prefixed = db.match("abc_tmp_7")
    assert prefixed is not None
    assert prefixed.category == "advertisement"


def test_an_oversized_header_is_not_the_database() -> None:
    with pytest.raises(CookieDatabaseError, match="not a CSV file"):
        parse_cookie_db('"' + "x" * 200_000 + '",b\n', source="odd.csv")


def test_a_file_far_larger_than_the_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "huge.csv"
    with path.open("wb") as file:
        file.truncate(MAX_BYTES + 1)  # sparse: no disk space used
    with pytest.raises(CookieDatabaseError, match="larger than") as raised:
        read_cookie_db(path)
    assert raised.value.file == str(path)


def test_an_oversized_field_costs_its_row_only() -> None:
    huge = "x" * 200_000  # more than the csv module's field limit
    rows = [
        HEADER,
        f'a1,Big,Analytics,big_id,,"{huge}",1 day,Big,https://big.example,0',
        "a2,Small,Analytics,small_id,,Fine,1 day,Small,https://small.example,0",
    ]
    db = parse_cookie_db("\n".join(rows) + "\n", source="big.csv")
    assert db.skipped == 1
    assert db.match("small_id") is not None


# -- the default copy in the user cache -------------------------------------------------


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The user cache directory, moved into the test's own directory (XDG on Linux)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "asgi-cookie-consent" / "open-cookie-database.csv"


@pytest.mark.skipif(sys.platform != "linux", reason="XDG_CACHE_HOME is where Linux caches")
def test_no_copy_in_the_cache_is_none_and_a_copy_there_is_read(cache: Path) -> None:
    assert default_cookie_db_path() == cache
    assert load_cookie_db() is None
    cache.parent.mkdir(parents=True)
    cache.write_bytes(SAMPLE.read_bytes())
    db = load_cookie_db()
    assert db is not None
    assert len(db) == 16


def test_without_platformdirs_the_error_says_what_to_install() -> None:
    # A fresh interpreter where platformdirs (and the public suffix list) cannot be
    # imported: the consent command's module still loads, and asking for the cache says why.
    code = (
        "import sys\n"
        "sys.modules['platformdirs'] = sys.modules['publicsuffixlist'] = None\n"
        "from consent.discovery.cli import add_cookie_db_commands\n"
        "from consent.discovery.cookiedb import default_cookie_db_path\n"
        "try:\n"
        "    default_cookie_db_path()\n"
        "except ValueError as error:\n"
        "    print(error)\n"
    )
    run = subprocess.run(  # noqa: S603 - our own interpreter and code, no shell
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert "needs the platformdirs package" in run.stdout
    assert "pip install 'asgi-cookie-consent[scan]'" in run.stdout


# -- downloads, from a server on loopback -------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        sample = SAMPLE.read_bytes()
        if self.path == "/good.csv":
            self._send(200, sample)
        elif self.path == "/html":
            self._send(200, b"<!DOCTYPE html><title>Moved</title>")
        elif self.path == "/mostly-broken.csv":
            self._send(200, (HEADER + "\n" + "a,b,c\n" * 10 + "\n".join(HEADER_ROW)).encode())
        elif self.path == "/huge.csv":
            self.send_response(200)
            self.send_header("Content-Length", str(MAX_BYTES + 1))
            self.end_headers()
            block = b"x" * (1024 * 1024)
            for _ in range(MAX_BYTES // len(block)):
                self.wfile.write(block)
            self.wfile.write(b"x")
        elif self.path == "/truncated.csv":
            # Promises the whole file, sends a third of it and hangs up.
            self.send_response(200)
            self.send_header("Content-Length", str(len(sample)))
            self.end_headers()
            self.wfile.write(sample[: len(sample) // 3])
            self.close_connection = True
        else:
            self._send(404, b"not found")

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/csv")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep the test output quiet


# One readable row, for the file that is mostly broken rows.
HEADER_ROW = ["r1,Real,Analytics,real_id,,Real,1 day,Real,https://real.example,0"]


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


OLD = HEADER + "\nold-1,Old,Analytics,old_id,,The copy in place,1 day,Old,https://old.example,0\n"


def test_update_downloads_into_the_given_path(server: str, tmp_path: Path) -> None:
    target = tmp_path / "sub" / "db.csv"
    db = update_cookie_db(f"{server}/good.csv", target)
    assert target.read_bytes() == SAMPLE.read_bytes()
    assert (len(db), db.skipped, db.source) == (16, 4, str(target))
    assert [path.name for path in target.parent.iterdir()] == ["db.csv"]


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/missing.csv", "download failed: HTTP 404"),
        ("/html", "lacks the column"),
        ("/mostly-broken.csv", "rows read: 1, unreadable: 10"),
        ("/truncated.csv", "download failed"),
        ("/huge.csv", "larger than"),
    ],
)
def test_a_failed_or_bad_download_leaves_the_old_copy(
    server: str, tmp_path: Path, path: str, message: str
) -> None:
    target = tmp_path / "db.csv"
    target.write_text(OLD, encoding="utf-8")
    with pytest.raises(CookieDatabaseError, match=message) as raised:
        update_cookie_db(server + path, target)
    assert raised.value.file == server + path
    assert target.read_text(encoding="utf-8") == OLD
    assert [entry.name for entry in tmp_path.iterdir()] == ["db.csv"]  # no temporary left


def test_an_unreachable_server_is_an_error(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a loopback port that was free a moment ago
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(CookieDatabaseError, match=r"download failed: .*refused"):
        update_cookie_db(f"http://127.0.0.1:{port}/db.csv", tmp_path / "db.csv", timeout=5)
    assert not (tmp_path / "db.csv").exists()


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/db.csv", "db.csv"])
def test_only_http_urls_are_downloaded(tmp_path: Path, url: str) -> None:
    with pytest.raises(CookieDatabaseError, match="only http:// and https://"):
        update_cookie_db(url, tmp_path / "db.csv")


def test_an_unwritable_target_leaves_nothing_behind(server: str, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where a directory should be", encoding="utf-8")
    with pytest.raises(CookieDatabaseError, match="cannot write it") as raised:
        update_cookie_db(f"{server}/good.csv", blocker / "db.csv")
    assert raised.value.file == str(blocker / "db.csv")


def test_a_failed_replacement_leaves_no_temporary_file(server: str, tmp_path: Path) -> None:
    target = tmp_path / "db.csv"
    target.mkdir()  # a directory cannot be replaced by a file
    with pytest.raises(CookieDatabaseError, match="cannot write it"):
        update_cookie_db(f"{server}/good.csv", target)
    assert [entry.name for entry in tmp_path.iterdir()] == ["db.csv"]
    assert target.is_dir()


def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="consent")
    add_cookie_db_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    result: int = args.run(args)
    return result


@pytest.mark.skipif(sys.platform != "linux", reason="XDG_CACHE_HOME is where Linux caches")
def test_the_command_updates_the_cached_copy(
    server: str, cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _cli(["cookie-db", "update", "--url", f"{server}/good.csv"]) == 0
    out, err = capsys.readouterr()
    assert out == (
        f"16 entries of the Open Cookie Database (4 unreadable rows skipped) saved to {cache}\n"
    )
    assert err == ""
    db = load_cookie_db()
    assert db is not None
    assert db.match("acme_id") is not None

    assert _cli(["cookie-db", "update", "--url", f"{server}/html"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"error: {server}/html: this is not the Open Cookie Database CSV")
    assert cache.read_bytes() == SAMPLE.read_bytes()


def test_the_command_downloads_from_github_by_default() -> None:
    parser = argparse.ArgumentParser(prog="consent")
    add_cookie_db_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["cookie-db", "update"])
    assert args.url == SOURCE_URL
    assert SOURCE_URL == (
        "https://raw.githubusercontent.com/jkwakman/Open-Cookie-Database/master/"
        "open-cookie-database.csv"
    )


# -- the real database, when this machine has a copy --------------------------------------


@pytest.mark.skipif(not REAL.exists(), reason="no copy of the Open Cookie Database here")
def test_the_real_database() -> None:
    db = read_cookie_db(REAL)
    assert len(db) > 2000
    assert db.skipped == 0
    ga = db.match("_ga", ".example.com")
    assert ga is not None
    assert (ga.category, ga.provider, ga.review) == ("analytics", "Google", False)
    gac = db.match("_gac_1234")  # the "_gac_" wildcard row
    assert gac is not None
    assert (gac.category, gac.provider, gac.review) == ("advertisement", "Google", True)
    assert db.match("_gaX") is None  # shares only "_ga" with the "_ga_" prefix
    assert db.match("_sfoo") is None  # "_s" is a wildcard row, too short to match alone
    fr = db.match("fr", ".facebook.com")
    assert fr is not None
    assert (fr.category, fr.review) == ("advertisement", False)

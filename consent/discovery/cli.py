"""``consent cookie-db update``: fetch the Open Cookie Database for ``consent scan``.

Only the standard library and this package are imported here, so the ``consent`` command
loads without the ``scan`` extra; the command says what to install when it needs it.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .cookiedb import SOURCE_URL, CookieDatabaseError, update_cookie_db

COOKIE_DB_DESCRIPTION = """\
The Open Cookie Database (github.com/jkwakman/Open-Cookie-Database, Apache-2.0)
describes some two thousand cookies of common platforms. consent scan uses it,
after the policy file and its own service catalogue, to classify the cookies it
finds. It is not shipped with this package: download it here, or give consent
scan a copy with --cookie-db FILE.
"""

UPDATE_DESCRIPTION = """\
Download the Open Cookie Database CSV into your cache directory, where consent
scan finds it. The download must read as the database before it replaces the
copy already there, so a failed or bad download leaves that copy as it was.
Exit status 1, saying why, if nothing was replaced.
"""


def _update(args: argparse.Namespace) -> int:
    try:
        database = update_cookie_db(args.url)
    except CookieDatabaseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    skipped = f" ({database.skipped} unreadable rows skipped)" if database.skipped else ""
    print(
        f"{len(database)} entries of the Open Cookie Database{skipped} saved to {database.source}"
    )
    return 0


def add_cookie_db_commands(commands: Any) -> None:
    """Register ``consent cookie-db ...`` on the main parser's sub-commands."""
    cookie_db = commands.add_parser(
        "cookie-db",
        help="download the Open Cookie Database that consent scan classifies with",
        description=COOKIE_DB_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = cookie_db.add_subparsers(dest="cookie_db_command", required=True, metavar="COMMAND")
    update = sub.add_parser(
        "update",
        help="download the latest copy into the user cache directory",
        description=UPDATE_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    update.add_argument(
        "--url",
        default=SOURCE_URL,
        help="where to download the CSV from (default: the file on the project's GitHub "
        "default branch)",
    )
    update.set_defaults(run=_update)

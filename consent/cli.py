"""The ``consent`` command: validate a policy file, make a secret key, manage consent records.

Its help is written for a terminal (``DESCRIPTION``, ``EPILOG``), not taken from this
docstring.
"""

from __future__ import annotations

import argparse
import secrets
import sys
from collections.abc import Sequence

from . import DISTRIBUTION, __version__
from .discovery.cli import add_cookie_db_commands
from .discovery.scan_cli import add_scan_command
from .errors import ConfigError
from .policy.catalogue import load_catalogue
from .policy.policy import Policy, load_policy
from .records.cli import add_records_commands


def _table(rows: list[tuple[str, ...]]) -> str:
    # Text from the file may hold newlines or tabs: one line per row, whatever it says.
    rows = [tuple(" ".join(cell.split()) for cell in row) for row in rows]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for index, row in enumerate(rows):
        lines.append(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


def describe(policy: Policy) -> str:
    config = policy.config
    rows: list[tuple[str, ...]] = [
        ("category", "cookie", "provider", "duration", "path", "domain", "service")
    ]
    for name, category in config.categories.items():
        label = f"{name} (required)" if category.required else name
        if not category.cookies:
            rows.append((label, "-", "", "", "", "", ""))
        for cookie in category.cookies:
            rows.append(
                (
                    label,
                    cookie.name,
                    cookie.provider,
                    cookie.duration,
                    cookie.path,
                    cookie.domain or "",
                    cookie.service or "",
                )
            )
            label = ""
    cookie_count = len(policy.declarations)
    header = (
        f"{policy.source}: valid. revision {config.revision}, endpoint {config.endpoint}, "
        f"undeclared cookies: {config.undeclared}, "
        f"{len(config.categories)} categories, {cookie_count} cookies"
    )
    # Re-consent (docs/reconsent.md): the hash a typo fix names in text_fixes.
    return (
        header + "\n\n" + _table(rows) + _services(policy) + f"\n\ntexts hash: {policy.texts_hash}"
    )


def _services(policy: Policy) -> str:
    """What each category's ``services:`` brought: its cookies (in the table above, in
    the "service" column) and its hosts, for the Content-Security-Policy."""
    lines = []
    for name, category in policy.config.categories.items():
        for service_id in category.services:
            cookies = [c.name for c in category.cookies if c.service == service_id]
            service = load_catalogue().by_id(service_id)
            hosts = service.all_hosts if service is not None else ()
            lines.append(
                f"  {name}: {service_id}: {len(cookies)} cookies; hosts: "
                f"{', '.join(hosts) or 'none'}"
            )
    return "\n\nservices (from the catalogue):\n" + "\n".join(lines) if lines else ""


def _check(args: argparse.Namespace) -> int:
    try:
        policy = load_policy(args.file)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(describe(policy))
    return 0


def _key_bytes(text: str) -> int:
    # Fewer than 16 random bytes is a key the middleware would refuse, or a weak one.
    try:
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 16 <= count <= 1024:
        raise argparse.ArgumentTypeError("choose between 16 and 1024 random bytes")
    return count


def _keygen(args: argparse.Namespace) -> int:
    print(secrets.token_urlsafe(args.bytes))
    return 0


# Help is read in a terminal: plain text, laid out by hand where argparse would rewrap it.
DESCRIPTION = """\
Server-enforced cookie consent for ASGI apps: scan a site for what it really
stores, check a policy file, make a secret key for the signed consent cookie,
and export, verify, prune or count the records that prove consent.
"""

EPILOG = f"""\
examples:
  consent scan https://shop.example --config consent.yaml
                                                  what the site stores, before and
                                                  after consent (scan extra)
  consent check consent.yaml                      validate a policy file
  export CONSENT_SECRET_KEYS="$(consent keygen)"  make and use a secret key
  consent records verify --config consent.yaml    check the proof of consent
  consent records --help                          the records commands

On PyPI as {DISTRIBUTION}. Documentation: the docs/ folder of
https://github.com/consent-project/asgi-cookie-consent
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="consent",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    check = commands.add_parser(
        "check",
        help="validate a policy file and list its cookies",
        description="Validate a policy file and list its categories, cookies and the hash of "
        "its texts. Exit status 1, with the file, line and key at fault, if it is not valid.",
    )
    check.add_argument("file", help="the policy file, e.g. consent.yaml")
    check.set_defaults(run=_check)
    keygen = commands.add_parser(
        "keygen",
        help="print a new random secret key",
        description="Print a new random secret key for CONSENT_SECRET_KEYS, which signs the "
        "consent cookie.",
    )
    keygen.add_argument(
        "--bytes", type=_key_bytes, default=32, help="random bytes, 16 to 1024 (default 32)"
    )
    keygen.set_defaults(run=_keygen)
    add_scan_command(commands)
    add_cookie_db_commands(commands)
    add_records_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.run(args)
    return result


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

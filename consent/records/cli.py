"""``consent records export|verify|prune|stats``: the proof, for people.

Every command reads the policy file given by ``--config`` (default
``consent.yaml``) for its ``records:`` settings, exactly as the middleware does.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import re
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from sqlalchemy.exc import SQLAlchemyError

from ..errors import ConfigError
from ..policy.policy import Policy, load_policy
from .chain import verify
from .model import FIELDS, utc_text
from .spool import Spool
from .stats import aggregate, plot, table
from .store import Store
from .urls import async_url, configured_url, spool_path

_DURATION = re.compile(r"^(\d{1,6})([hdw])$")
_UNITS = {"h": 3600, "d": 86400, "w": 7 * 86400}


class CommandError(Exception):
    """A records command cannot run; the message says why."""


def _moment(value: str) -> str:
    """``2026-01-31`` or an ISO 8601 time (UTC unless it says otherwise) → stored time text."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a date or time; use e.g. 2026-01-31 or 2026-01-31T12:00:00Z"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return utc_text(moment)


def _duration(value: str) -> timedelta:
    match = _DURATION.match(value.strip())
    if not match:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a duration; use a number and h, d or w, e.g. 400d"
        )
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


def _open(policy: Policy) -> tuple[Store, Spool]:
    settings = policy.config.records
    if not settings.enabled:
        raise CommandError(f"{policy.source}: records are turned off ('records: false')")
    url = async_url(configured_url(settings))
    if url.get_backend_name() == "sqlite" and not Path(str(url.database)).exists():
        raise CommandError(f"no records database at {url.database} (nothing recorded yet?)")
    return Store.configured(settings, url), Spool(spool_path(settings, url))


def _run(args: argparse.Namespace, work: Callable[[Store, Spool, Policy], Awaitable[int]]) -> int:
    try:
        policy = load_policy(args.config)
        store, spool = _open(policy)
    except (ConfigError, CommandError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    async def run() -> int:
        try:
            return await work(store, spool, policy)
        finally:
            await store.close()

    try:
        return asyncio.run(run())
    except SQLAlchemyError as error:
        print(f"error: the records store cannot be read: {error}", file=sys.stderr)
        return 2
    except (CommandError, RuntimeError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _output(args: argparse.Namespace) -> IO[str]:
    if args.output in (None, "-"):
        return sys.stdout
    return open(args.output, "w", encoding="utf-8", newline="")


def _export(args: argparse.Namespace) -> int:
    async def work(store: Store, _spool: Spool, _policy: Policy) -> int:
        out = _output(args)
        count = 0
        try:
            writer = csv.writer(out) if args.format == "csv" else None
            if writer is not None:
                writer.writerow(FIELDS)
            async for record in store.iter_records(since=args.since, until=args.until):
                data: dict[str, Any] = record.as_dict()
                if writer is not None:
                    writer.writerow(
                        [",".join(v) if isinstance(v, list) else v for v in data.values()]
                    )
                else:
                    out.write(json.dumps(data, ensure_ascii=False) + "\n")
                count += 1
        finally:
            if out is not sys.stdout:
                out.close()
        print(f"exported {count} records", file=sys.stderr)
        return 0

    return _run(args, work)


def _verify(args: argparse.Namespace) -> int:
    async def work(store: Store, spool: Spool, _policy: Policy) -> int:
        records = await store.all_records()
        head = await store.head()
        verdict = verify(records, head)
        known = {record.hash for record in records}
        if head is not None:
            known.add(head.anchor_hash)
        for noted in args.expect:
            if noted not in known:
                pruned = (
                    f" or was pruned (the chain starts after #{head.anchor_seq})"
                    if (head is not None and head.anchor_seq)
                    else ""
                )
                verdict.problems.append(
                    f"the head {noted} noted earlier is not in the chain: the chain was "
                    f"rewritten{pruned}"
                )
        waiting = len(spool.pending())
        if waiting:
            print(f"note: {waiting} records wait in {spool.path} for the store (not verified)")
        if not verdict.ok:
            for problem in verdict.problems:
                print(f"TAMPERED: {problem}")
            print(f"{len(verdict.problems)} problems in {verdict.checked} records", file=sys.stderr)
            return 1
        assert head is not None  # verify reports a missing head as a problem
        pruned = f", {head.anchor_seq} pruned before it" if head.anchor_seq else ""
        print(
            f"ok: {verdict.checked} records, chain intact{pruned}; "
            f"head #{head.last_seq} {head.last_hash}"
        )
        return 0

    return _run(args, work)


def _prune(args: argparse.Namespace) -> int:
    async def work(store: Store, _spool: Spool, _policy: Policy) -> int:
        cutoff = utc_text(datetime.now(UTC) - args.older_than)
        deleted = await store.prune(cutoff)
        head = await store.head()
        anchor = f"; the chain now starts after #{head.anchor_seq}" if head else ""
        print(f"pruned {deleted} records made before {cutoff}{anchor}")
        return 0

    return _run(args, work)


def _stats(args: argparse.Namespace) -> int:
    async def work(store: Store, _spool: Spool, policy: Policy) -> int:
        counts = await store.day_counts(since=args.since, until=args.until)
        optional = policy.optional
        rows = aggregate(counts, optional, args.period)
        print(table(rows, optional))
        if args.plot:
            plot(rows, optional, Path(args.plot))
            print(f"chart written to {args.plot}", file=sys.stderr)
        return 0

    return _run(args, work)


def add_records_commands(commands: Any) -> None:
    """Register ``consent records ...`` on the main parser's sub-commands."""
    records = commands.add_parser(
        "records",
        help="export, verify, prune and count consent records",
        description="Export, verify, prune and count the consent records, the proof of every "
        "decision. Each command finds the records store in the records: settings of the "
        "policy file given by --config (default consent.yaml).",
    )
    sub = records.add_subparsers(dest="records_command", required=True, metavar="COMMAND")

    def command(
        name: str, help_text: str, description: str, run: Callable[[argparse.Namespace], int]
    ) -> Any:
        parser = sub.add_parser(name, help=help_text, description=description)
        parser.add_argument(
            "--config", default="consent.yaml", help="the policy file (default consent.yaml)"
        )
        parser.set_defaults(run=run)
        return parser

    def window(parser: Any) -> None:
        parser.add_argument("--since", type=_moment, help="from this date or time (UTC)")
        parser.add_argument("--until", type=_moment, help="before this date or time (UTC)")

    export = command(
        "export",
        "write records as JSON lines or CSV",
        "Write the records as JSON lines or CSV, to standard output or a file.",
        _export,
    )
    export.add_argument(
        "--format", choices=("jsonl", "csv"), default="jsonl", help="default jsonl (JSON lines)"
    )
    export.add_argument("--output", "-o", help="file to write (default: standard output)")
    window(export)
    check = command(
        "verify",
        "check the hash chain; exit 1 naming any tampered record",
        "Check the hash chain of the records. Exit status 1, naming every tampered "
        "record, if it is broken.",
        _verify,
    )
    check.add_argument(
        "--expect",
        action="append",
        default=[],
        metavar="HASH",
        help="a head printed by an earlier verify, kept elsewhere: it must still be in the chain",
    )
    prune = command(
        "prune",
        "delete records older than a retention period",
        "Delete the records older than a retention period; the chain then starts after "
        "the last record deleted.",
        _prune,
    )
    prune.add_argument("--older-than", type=_duration, required=True, help="e.g. 400d, 56w or 72h")
    stats = command(
        "stats",
        "decisions and opt-in rate per category over time",
        "Count the decisions per day, week or month, and the share of them that granted "
        "each optional category.",
        _stats,
    )
    stats.add_argument(
        "--period", choices=("day", "week", "month"), default="day", help="default day"
    )
    stats.add_argument("--plot", metavar="FILE", help="also write a PNG chart to FILE")
    window(stats)

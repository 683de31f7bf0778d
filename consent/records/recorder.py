"""The recorder: turns each decision into a record and applies the durability rules.

- A decision that grants something new is committed before it takes effect: the
  caller awaits :meth:`Recorder.commit_first` and answers 503 if it raises.
- A refusal, a withdrawal or a narrowing change is never blocked: it waits at most
  a second for the store, and a record the store cannot take is spooled to disk and
  written when the store is back (by a retry task, the next write, or :meth:`flush`).

Writes are group-committed: decisions arriving while a transaction runs go
together into the next one, which is how one chain can take thousands of
records a second while every append holds the chain lock.

A decision is in one place at a time: queued, in the transaction being written,
or in the spool. A refusal still queued when its request stops waiting moves to
the spool; one already in a transaction stays there, and the writer spools it if
that transaction fails. In two places, it would go into one transaction twice, and
its duplicate record id would fail that whole transaction, grants included.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from starlette.types import Message, Receive, Scope

from ..enforcement.headers import request_header
from ..errors import ConfigError
from ..policy.config import RecordsSettings
from ..policy.policy import Policy
from ..policy.state import ConsentState
from .model import Action, Decision, StoredRecord, utc_text
from .schema import USER_AGENT_MAX
from .shown import shown_hash
from .spool import Spool
from .store import Store, StoreUnavailable
from .urls import async_url, configured_url, spool_path

log = logging.getLogger("consent.records")
MAX_BATCH = 500
REFUSAL_WAIT = 1.0
_RETRY_FIRST = 0.2
_RETRY_MAX = 10.0


def truncate_ip(address: str) -> str | None:
    """Keep the network only: /24 of IPv4, /48 of IPv6; ``None`` if it is not an address."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def _user_agent(scope: Scope) -> str:
    value = request_header(scope, b"user-agent")
    if value is None:
        return ""
    text = value.decode("latin-1")[:USER_AGENT_MAX]
    return "".join(c if " " <= c <= "~" else "?" for c in text)


def _gpc(scope: Scope) -> bool:
    value = request_header(scope, b"sec-gpc")
    return value is not None and value.strip() == b"1"


class Recorder:
    """Keeps one record per decision in the configured store. Built by the middleware."""

    def __init__(self, settings: RecordsSettings, policy: Policy) -> None:
        self.settings = settings
        self.policy = policy
        self.url = async_url(configured_url(settings))
        self.timeout = settings.timeout_seconds
        self.shown_hash = shown_hash(policy)
        self.spool = Spool(spool_path(settings, self.url))
        self._optional = frozenset(policy.optional)
        self._runtime: _Runtime | None = None
        self._schema_ready = False

    # -- the hook the endpoints call ------------------------------------------

    def decision(
        self, scope: Scope, previous: ConsentState, new: ConsentState, source: str
    ) -> tuple[Decision, bool]:
        """The record of ``previous`` → ``new``, and whether it must be committed first."""
        new_optional = new.granted & self._optional
        old_optional = previous.granted & self._optional if previous.decided else frozenset()
        action: Action
        if source == "delete":
            action = "withdrawal"
        elif not previous.decided:
            action = "grant" if new_optional else "refusal"
        elif new_optional:
            action = "change"
        else:
            action = "withdrawal" if old_optional else "refusal"
        ip = None
        client = scope.get("client")
        if self.settings.ip == "truncate" and client:
            ip = truncate_ip(str(client[0]))
        names = self.policy.category_names
        decision = Decision(
            record_id=str(uuid.uuid4()),
            consent_id=new.consent_id,
            created_at=utc_text(datetime.now(UTC)),
            action=action,
            granted=tuple(name for name in names if name in new.granted),
            refused=tuple(name for name in names if name not in new.granted),
            revision=new.revision,
            shown_hash=self.shown_hash,
            gpc=_gpc(scope),
            source=source,
            user_agent=_user_agent(scope),
            ip=ip,
        )
        # Only consent the visitor did not already give needs its proof first.
        return decision, bool(new_optional - old_optional)

    async def record(
        self, scope: Scope, previous: ConsentState, new: ConsentState, source: str
    ) -> None:
        """Record a decision; raises :class:`StoreUnavailable` only for a new grant."""
        decision, must_commit = self.decision(scope, previous, new, source)
        if must_commit:
            await self.commit_first(decision)
        else:
            await self.keep(decision)

    async def commit_first(self, decision: Decision) -> None:
        queued = self._runtime_here().submit(decision)
        try:
            error = await asyncio.wait_for(asyncio.shield(queued.done), self.timeout)
        except TimeoutError:
            error = StoreUnavailable("the records store did not answer in time")
        if error is not None:
            raise error

    async def keep(self, decision: Decision) -> None:
        runtime = self._runtime_here()
        queued = runtime.submit(decision, spool_if_unwritten=True)
        try:
            # A refusal waits for a healthy store (milliseconds), never for a sick one.
            await asyncio.wait_for(asyncio.shield(queued.done), min(self.timeout, REFUSAL_WAIT))
        except TimeoutError:
            # Still queued, it moves to the spool: queued and spooled, it would go into
            # the next transaction twice. Once the writer has taken it, it stays there:
            # that transaction stores it, or the writer spools it when it fails.
            if runtime.take_back(queued):
                # open, flock, write, fsync: off the event loop, other requests go on meanwhile.
                await asyncio.to_thread(self.spool.add, [decision])
                runtime.retry_later()

    # -- reading --------------------------------------------------------------

    async def receipt(self, consent_id: str) -> list[StoredRecord]:
        runtime = self._runtime_here()
        try:
            await runtime.ready()
            return await runtime.store.receipt(consent_id)
        except StoreUnavailable:
            raise
        except Exception as error:
            raise StoreUnavailable(f"the records store cannot be read: {error}") from error

    # -- life cycle -----------------------------------------------------------

    async def startup(self) -> None:
        """Create or upgrade the schema and write what a previous run spooled."""
        runtime = self._runtime_here(pooled=True)
        try:
            await runtime.ready()
            await runtime.drain()
        except StoreUnavailable as error:
            log.warning("consent records store unavailable at start-up: %s", error)
            runtime.retry_later()

    async def flush(self) -> int:
        """Write spooled records now; returns how many are still waiting."""
        runtime = self._runtime_here()
        with contextlib.suppress(StoreUnavailable):
            await runtime.drain()
        return len(self.spool.pending())

    async def shutdown(self) -> None:
        """Let the writer finish, write the spool if the store is there, close the store."""
        runtime = self._runtime
        if runtime is not None and runtime.loop is asyncio.get_running_loop():
            await runtime.idle()
        await self.flush()
        runtime = self._runtime
        if runtime is not None:
            await runtime.close()
        self._runtime = None

    def lifespan_receive(self, receive: Receive) -> Receive:
        async def wrapped() -> Message:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self.startup()
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
            return message

        return wrapped

    def _runtime_here(self, *, pooled: bool = False) -> _Runtime:
        """The writer of the running event loop.

        Servers run one loop and send ``lifespan``: the store is pooled and closed at
        shutdown. Without lifespan (some test clients run each request on a new loop)
        each transaction opens and closes its own connection, so nothing is leaked.
        """
        loop = asyncio.get_running_loop()
        runtime = self._runtime
        if runtime is None or runtime.loop is not loop:
            store = Store.configured(self.settings, self.url, pooled=pooled)
            runtime = self._runtime = _Runtime(self, loop, store)
        return runtime


@dataclass(eq=False)
class _Queued:
    """A decision waiting for the writer, and the future its request awaits."""

    # ``None`` asks only for the spool to be written (a retry or a flush).
    decision: Decision | None
    done: asyncio.Future[StoreUnavailable | None]
    # A refusal is never lost: if its transaction fails, the writer spools it.
    spool_if_unwritten: bool


@dataclass(eq=False)
class _Runtime:
    """One event loop's store and writer task; every write of the loop goes through it."""

    recorder: Recorder
    loop: asyncio.AbstractEventLoop
    store: Store
    queue: list[_Queued] = field(default_factory=list)
    writer: asyncio.Task[None] | None = None
    retry: asyncio.Task[None] | None = None

    def submit(self, decision: Decision | None, *, spool_if_unwritten: bool = False) -> _Queued:
        queued = _Queued(decision, self.loop.create_future(), spool_if_unwritten)
        self.queue.append(queued)
        if self.writer is None or self.writer.done():
            self.writer = self.loop.create_task(self._write_all())
        return queued

    def take_back(self, queued: _Queued) -> bool:
        """Remove ``queued`` if the writer has not taken it; ``False`` once it has."""
        if queued not in self.queue:
            return False
        self.queue.remove(queued)
        return True

    async def ready(self) -> None:
        recorder = self.recorder
        if recorder._schema_ready:
            return
        try:
            await self.store.init()
        except (StoreUnavailable, ConfigError):
            raise
        except Exception as error:
            raise StoreUnavailable(f"the records store cannot be initialised: {error}") from error
        recorder._schema_ready = True

    async def _write_all(self) -> None:
        """Group commit: everything queued goes into one transaction, spool first.

        One task per loop does all the writing, so a spooled record is never in
        two transactions of this process at once.
        """
        while self.queue:
            batch = self.queue[:MAX_BATCH]
            del self.queue[:MAX_BATCH]
            # From here on the batch is the writer's: no request takes a decision back.
            decisions = [queued.decision for queued in batch if queued.decision is not None]
            refusals = [
                queued.decision
                for queued in batch
                if queued.decision is not None and queued.spool_if_unwritten
            ]
            try:
                error = await self._commit(decisions)
            except asyncio.CancelledError:
                # The loop is closing mid-transaction (no lifespan: a loop per request).
                # If the commit landed, the store skips these ids when the spool is written.
                self.recorder.spool.add(refusals)
                raise
            if error is not None and refusals:
                # These are the writer's alone now; spooled before any request hears back.
                await asyncio.to_thread(self.recorder.spool.add, refusals)
                self.retry_later()
            for queued in batch:
                if not queued.done.done():
                    queued.done.set_result(error)

    async def _commit(self, decisions: list[Decision]) -> StoreUnavailable | None:
        """One transaction: the spool, then ``decisions``. The error if it failed."""
        spool = self.recorder.spool
        try:
            waiting = await asyncio.to_thread(spool.pending) if spool.has_pending() else []
            await self.ready()
            await self.store.append(waiting, new=decisions)
        except Exception as error:
            log.warning("consent records store unavailable: %s", error)
            if isinstance(error, StoreUnavailable):
                return error
            return StoreUnavailable(f"the records store cannot be written: {error}")
        if waiting:
            await asyncio.to_thread(spool.remove, {decision.record_id for decision in waiting})
        return None

    async def drain(self) -> None:
        """Write the spool now (through the writer); raises if the store is still away."""
        if not self.recorder.spool.has_pending():
            return
        error = await self.submit(None).done
        if error is not None:
            raise error

    def retry_later(self) -> None:
        if self.retry is None or self.retry.done():
            self.retry = self.loop.create_task(self._retry())

    async def _retry(self) -> None:
        delay = _RETRY_FIRST
        while self.recorder.spool.has_pending():
            await asyncio.sleep(delay)
            try:
                await self.drain()
            except StoreUnavailable:
                delay = min(delay * 2, _RETRY_MAX)

    async def idle(self) -> None:
        if self.writer is not None:
            with contextlib.suppress(Exception):
                await self.writer

    async def close(self) -> None:
        if self.retry is not None:
            self.retry.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.retry
        await self.store.close()

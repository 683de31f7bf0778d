"""Start one uvicorn process per server and make sure each pid is the process that serves.

A server is named after its stack; a second server of one stack (for two rows of that
stack timed at the same time) after the stack and its number: ``consent-2``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx2

from .pinning import affinity, pin

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 60.0  # the large policy is generated and validated at start-up


class ServerError(RuntimeError):
    """A server did not start, or is not the process the benchmark would measure."""


@dataclass(frozen=True, slots=True)
class Server:
    stack: str  # what it serves (bench/stacks.py)
    origin: str  # http://127.0.0.1:PORT
    pid: int  # the serving process, whose CPU time is read
    http: str  # what uvicorn picked: httptools or h11
    loop: str  # uvloop or asyncio
    name: str  # the stack's name, or ``consent-2`` for a second server of it


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _environment(workdir: Path) -> dict[str, str]:
    # The records store of this server alone; bench importable from any working directory.
    path = os.pathsep.join(filter(None, [os.environ.get("PYTHONPATH"), str(ROOT)]))
    return {
        **os.environ,
        "CONSENT_RECORDS_URL": f"sqlite:///{workdir / 'records.db'}",
        "PYTHONPATH": path,
    }


def wait_until_answering(
    name: str, process: subprocess.Popen[bytes], origin: str, path: str, log: Path, timeout: float
) -> httpx2.Response:
    """Poll ``path`` of a server just started until it answers; :class:`ServerError` (with
    its log) when the process exits first or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    with httpx2.Client(base_url=origin, timeout=5.0) as client:
        while True:
            if process.poll() is not None:
                output = log.read_text(encoding="utf-8", errors="replace")
                raise ServerError(f"the {name} server exited ({process.returncode}):\n{output}")
            try:
                return client.get(path).raise_for_status()
            except httpx2.TransportError:
                if time.monotonic() > deadline:
                    raise ServerError(f"the {name} server did not answer in time") from None
                time.sleep(0.05)  # nothing to wait on but the port


def _wait_until_serving(
    name: str, stack: str, process: subprocess.Popen[bytes], origin: str, log: Path, cpu: int | None
) -> Server:
    info = wait_until_answering(name, process, origin, "/server", log, START_TIMEOUT).json()
    if info["pid"] != process.pid:
        raise ServerError(
            f"the {name} server answers from pid {info['pid']}, not from the process "
            f"started ({process.pid}): its CPU time would not be the server's"
        )
    if cpu is not None:
        pin(process.pid, cpu)  # any thread started since it was pinned at start
        if affinity(process.pid) != {cpu}:
            raise ServerError(f"the {name} server could not be pinned to CPU {cpu}")
    return Server(stack, origin, process.pid, info["http"], info["loop"], name)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def serving(
    servers: Mapping[str, str], workdir: Path, cpu: int | None = None
) -> Iterator[dict[str, Server]]:
    """Serve each stack of ``servers`` (name → stack) with ``python -m bench.serve STACK
    --port N``; stop them all at exit. The servers are keyed by name.

    With ``cpu``, each server is pinned to that CPU right after it starts (the
    interpreter is still starting: one thread, whose affinity later threads inherit).
    """
    with ExitStack() as cleanup:
        started = []
        for name, stack in servers.items():
            server_dir = workdir / name
            server_dir.mkdir()
            port = free_port()
            log = server_dir / "server.log"
            output = cleanup.enter_context(log.open("wb"))
            process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", "bench.serve", stack, "--port", str(port)],
                env=_environment(server_dir),
                stdout=output,
                stderr=subprocess.STDOUT,
            )
            cleanup.callback(stop, process)
            if cpu is not None:
                with suppress(ProcessLookupError):  # exited already: the wait says why
                    pin(process.pid, cpu)
            started.append((name, stack, process, f"http://127.0.0.1:{port}", log))
        # All start together; then each is waited for in turn.
        yield {
            name: _wait_until_serving(name, stack, process, origin, log, cpu)
            for name, stack, process, origin, log in started
        }

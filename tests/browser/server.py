"""Apps served by uvicorn on a loopback port of their own, in a background thread."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from playwright.sync_api import Browser, sync_playwright
from starlette.types import ASGIApp

from examples import starlette_app
from tests.conftest import missing

KEY = "browser-test-key-0123456789abcdef"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def chromium(*extra_args: str) -> Iterator[Browser]:
    """Debian's Chromium, driven by Playwright with ``CHROMIUM_ARGS`` and ``extra_args``;
    a missing Chromium skips the test (fails it in CI)."""
    if not Path(CHROMIUM).exists():
        missing(f"this test needs Chromium at {CHROMIUM}; run `make browser-deps`")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *extra_args]
        )
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def serve(app: ASGIApp, timeout: float = 15.0) -> Iterator[str]:
    """Serve ``app`` on a loopback port of its own; yield its origin once uvicorn is up."""
    # Bound here, not by uvicorn: no other process can take the port in between.
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_level="warning", lifespan="off", http="h11", ws="none", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:  # uvicorn's own readiness flag, polled
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.005)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout)
        sock.close()


@contextmanager
def serve_example() -> Iterator[str]:
    """The example shop, served as :func:`serve` serves any app."""
    with serve(starlette_app.create_app([KEY])) as origin:
        yield origin

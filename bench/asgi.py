"""Driving ASGI apps without an event loop.

Nothing in the benchmark ever waits on I/O: ``receive`` and ``send`` are coroutines that
return at once. One ``send(None)`` on the app's awaitable therefore runs a whole request
to completion, which keeps the event loop's own cost and jitter out of the figures.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class Suspended(RuntimeError):
    """The app awaited something that was not ready: it cannot be driven synchronously."""


async def receive() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


async def discard(message: Message) -> None:
    """The ``send`` used while timing: it keeps nothing."""


def call(app: ASGIApp, scope: Scope, send: Send = discard, receive: Receive = receive) -> None:
    """Run one request through ``app`` to completion."""
    steps = app(scope, receive, send).__await__()
    try:
        steps.send(None)
    except StopIteration:
        return
    steps.close()
    raise Suspended("the app suspended; the benchmark only drives apps that never wait")


class Recorder:
    """A ``send`` that keeps every message, for checking a scenario before timing it."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def __call__(self, message: Message) -> None:
        self.messages.append(message)

    def headers(self) -> list[tuple[bytes, bytes]]:
        start = next(m for m in self.messages if m["type"] == "http.response.start")
        return [(bytes(k), bytes(v)) for k, v in start.get("headers", [])]

    def set_cookie_names(self) -> list[str]:
        return [
            value.split(b"=", 1)[0].decode("latin-1")
            for key, value in self.headers()
            if key.lower() == b"set-cookie"
        ]

# The C twins of consent/scan.py (consent/_speedups.c): the same signatures.
from collections.abc import Callable, Iterable
from typing import Any

def read_headers(headers: Iterable[Any], names: tuple[bytes | None, ...], /) -> tuple[Any, ...]: ...
def scan_cookies(
    header: bytes, context: tuple[Any, ...], own: int, /
) -> tuple[int, bytes | None]: ...
def filter_headers(
    headers: Iterable[Any],
    keeps: dict[bytes, bool],
    learn: Callable[[dict[bytes, bool], bytes, int], bool],
    allowed: int,
    nameless: int,
    csp: bool,
    /,
) -> tuple[list[Any], int, bytes | None, tuple[bytes, ...], bool]: ...
def send_message(
    context: tuple[Any, ...],
    send: Callable[[Any], Any],
    allowed: int,
    expiries: Any,
    nonce: bytes | None,
    message: Any,
    /,
) -> Any: ...

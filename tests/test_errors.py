"""One error tree, with the context a caller needs as attributes."""

from __future__ import annotations

import pytest

from consent import ConfigError, ConsentError, RequestError
from consent.errors import MiddlewareNotInstalled


@pytest.mark.parametrize(
    ("kwargs", "rendered"),
    [
        ({}, "bad"),
        ({"file": "c.yaml"}, "c.yaml: bad"),
        ({"file": "c.yaml", "line": 3}, "c.yaml:3: bad"),
        ({"file": "c.yaml", "line": 3, "key": "a.b[0]"}, "c.yaml:3: a.b[0]: bad"),
        ({"line": 3}, "line 3: bad"),
        ({"key": "secret_keys"}, "secret_keys: bad"),
        ({"line": 3, "key": "revision"}, "line 3: revision: bad"),
    ],
)
def test_config_error_renders_where(kwargs: dict[str, str | int], rendered: str) -> None:
    error = ConfigError("bad", **kwargs)  # type: ignore[arg-type]
    assert str(error) == rendered
    assert error.message == "bad"
    assert (error.file, error.key, error.line) == (
        kwargs.get("file"),
        kwargs.get("key"),
        kwargs.get("line"),
    )


def test_config_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="nope"):
        raise ConfigError("nope")
    assert issubclass(ConfigError, ConsentError)


def test_request_error_carries_its_status() -> None:
    error = RequestError(413, "body too large")
    assert (error.status, error.message, str(error)) == (
        413,
        "body too large",
        "413: body too large",
    )
    assert isinstance(error, ConsentError)


def test_middleware_not_installed_is_a_lookup_error() -> None:
    assert issubclass(MiddlewareNotInstalled, LookupError)
    assert issubclass(MiddlewareNotInstalled, ConsentError)

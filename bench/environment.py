"""What the figures were measured on: they are not a property of the code alone."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

from .servers import Server


def cpu_model(cpuinfo: str) -> str:
    """The first ``model name`` of a /proc/cpuinfo text."""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name":
            return value.strip()
    return "unknown CPU"


@dataclass(frozen=True, slots=True)
class Environment:
    python: str
    starlette: str
    uvicorn: str
    http: str  # the HTTP parser uvicorn picked in the servers
    loop: str  # and the event loop
    cpu: str
    cores: int

    @classmethod
    def of(cls, server: Server) -> Environment:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        except OSError:
            cpuinfo = ""
        return cls(
            python=f"{platform.python_implementation()} {platform.python_version()}",
            starlette=version("starlette"),
            uvicorn=version("uvicorn"),
            http=server.http,
            loop=server.loop,
            cpu=cpu_model(cpuinfo),
            cores=os.cpu_count() or 0,
        )

    def describe(self) -> str:
        return (
            f"{self.python}, Starlette {self.starlette}, uvicorn {self.uvicorn} "
            f"({self.http}, {self.loop}), {self.cpu}, {self.cores} cores"
        )

"""Hatchling build hook: compile consent/_speedups.c, the C twin of consent/scan.py.

The extension is optional, as MarkupSafe's and PyYAML's are: when it cannot be built
(no C compiler, an interpreter without headers), the wheel is pure Python and the
middleware runs the same loops in Python (docs/performance.md says what that costs).
``CONSENT_REQUIRE_SPEEDUPS=1`` turns that warning into an error: the Makefile sets it,
so that a development install and CI never measure or test the fallback by accident.

Compiled with setuptools' ``build_ext``, which knows every platform's compiler and
flags, and placed next to the sources (``inplace``): an editable install imports it
from there, and a wheel takes it in as an artifact (``*.so`` and ``*.pyd`` are ignored
by git, so hatchling would otherwise leave them out).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

REQUIRE_ENV = "CONSENT_REQUIRE_SPEEDUPS"
SOURCE = "consent/_speedups.c"


def compile_speedups(root: Path) -> list[str]:
    """Build ``consent._speedups`` in place; the paths of what was built, under ``root``."""
    from setuptools import Distribution, Extension
    from setuptools.command.build_ext import build_ext

    extension = Extension("consent._speedups", [SOURCE])
    distribution = Distribution({"name": "consent", "ext_modules": [extension]})
    distribution.package_dir = {"": "."}
    command = build_ext(distribution)
    command.inplace = True
    with tempfile.TemporaryDirectory() as scratch:
        command.build_temp = scratch
        command.build_lib = scratch
        command.ensure_finalized()
        previous = Path.cwd()
        os.chdir(root)  # inplace copies relative to the working directory
        try:
            command.run()
        finally:
            os.chdir(previous)
    built = Path(root, "consent", Path(command.get_ext_filename(extension.name)).name)
    return [built.relative_to(root).as_posix()]


class SpeedupsBuildHook(BuildHookInterface):
    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        try:
            built = compile_speedups(Path(self.root))
        except Exception as error:
            if os.environ.get(REQUIRE_ENV) == "1":
                raise RuntimeError(f"{SOURCE} did not compile and {REQUIRE_ENV}=1") from error
            self.app.display_warning(
                f"consent: {SOURCE} was not compiled ({error}); the middleware will run "
                "its per-cookie loops in Python, which is slower (docs/performance.md)"
            )
            return
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        build_data["artifacts"].extend(built)

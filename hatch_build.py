"""Hatchling build hook: compile consent/_speedups.c, the C twin of consent/scan.py.

The extension is optional, as MarkupSafe's and PyYAML's are: when it cannot be built
(no C compiler, an interpreter without headers), the wheel is pure Python and the
middleware runs the same loops in Python (docs/performance.md says what that costs).
``CONSENT_REQUIRE_SPEEDUPS=1`` turns that warning into an error: the Makefile sets it,
so that a development install and CI never measure or test the fallback by accident.

Compiled with setuptools' ``build_ext``, which knows every platform's compiler and
flags. An editable install gets the module next to the sources, where it imports it
from (``*.so`` and ``*.pyd`` are ignored by git, so it is named as an artifact); a
wheel gets it from a scratch directory, leaving the source tree as it was.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

REQUIRE_ENV = "CONSENT_REQUIRE_SPEEDUPS"
SOURCE = "consent/_speedups.c"


def compile_speedups(root: Path, output: Path) -> Path:
    """Build ``consent._speedups`` from the sources under ``root`` into ``output``/consent."""
    from setuptools import Distribution, Extension
    from setuptools.command.build_ext import build_ext

    extension = Extension("consent._speedups", [str(Path(root, SOURCE))])
    command = build_ext(Distribution({"name": "consent", "ext_modules": [extension]}))
    with tempfile.TemporaryDirectory() as scratch:
        command.build_temp = scratch
        command.build_lib = str(output)
        command.ensure_finalized()
        command.run()
    return Path(output, command.get_ext_filename(extension.name))


class SpeedupsBuildHook(BuildHookInterface):
    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        self._scratch: Path | None = None  # a wheel's build directory, gone in finalize
        root = Path(self.root)
        editable = version == "editable"
        output = root if editable else Path(tempfile.mkdtemp(prefix="consent-speedups-"))
        try:
            built = compile_speedups(root, output)
        except Exception as error:
            if not editable:
                shutil.rmtree(output, ignore_errors=True)
            if os.environ.get(REQUIRE_ENV) == "1":
                raise RuntimeError(f"{SOURCE} did not compile and {REQUIRE_ENV}=1") from error
            self.app.display_warning(
                f"consent: {SOURCE} was not compiled ({error}); the middleware will run "
                "its per-cookie loops in Python, which is slower (docs/performance.md)"
            )
            return
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        if editable:
            build_data["artifacts"].append(built.relative_to(root).as_posix())
        else:
            build_data["force_include"][str(built)] = f"consent/{built.name}"
            self._scratch = output

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)

"""Which Chromium the scan drives: one named with ``--browser``, Playwright's own, or the
system's.

Plain Python, no Playwright import: the command line can say that no browser is there
before it starts anything. Playwright's own Chromium (``playwright install chromium``) is
looked for where Playwright puts it (``PLAYWRIGHT_BROWSERS_PATH``, else the per-user
cache), preferring the revision the installed Playwright was built for; any other
revision still speaks the same protocol, as a system Chromium does.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from importlib.util import find_spec
from pathlib import Path

from ..errors import ConsentError

# Names on PATH, most specific first: Debian's chromium, Ubuntu's and Fedora's
# chromium-browser, Google's packages, Edge (a Chromium too).
_ON_PATH = (
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
    "chrome",
    "microsoft-edge",
)
# Where macOS and Windows install browsers without putting them on PATH.
_INSTALLED = (
    "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
    "/Applications/Chromium.app/Contents/MacOS/Chromium",
    r"C:\Program Files\Google\Chrome\Application\chrome.exe",
    r"C:\Program Files (x86)\Google\Chrome\Application\chrome.exe",
    r"C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe",
)
# The executable inside a chromium-<revision> folder of Playwright's, per platform.
_PLAYWRIGHT_LAYOUTS = ("chrome-*/chrome", "chrome-*/chrome.exe", "chrome-*/*.app/Contents/MacOS/*")
HOW_TO_INSTALL = (
    "install one with `playwright install chromium` (Playwright's own build), or the "
    "system's (`apt-get install chromium` on Debian, `brew install --cask chromium` on "
    "macOS), or name one with --browser PATH"
)


class BrowserNotFound(ConsentError, LookupError):
    """No Chromium to drive; ``path`` is the one named with ``--browser``, if any."""

    def __init__(self, message: str, *, path: str | None = None) -> None:
        self.path = path
        super().__init__(message)


def find_browser(explicit: str | None) -> str | None:
    """The Chromium executable to launch, or ``None`` when there is none.

    ``explicit`` (``--browser PATH``, also a name on PATH) must be an executable file, or
    :class:`BrowserNotFound` says what is wrong with it. Without it: Playwright's own
    Chromium when installed, else the first system Chromium or Chrome found.
    """
    if explicit is not None:
        return _checked(explicit)
    own = playwright_chromium()
    if own is not None:
        return str(own)
    for name in _ON_PATH:
        found = shutil.which(name)
        if found is not None:
            return found
    return next((path for path in _INSTALLED if _executable(Path(path))), None)


def require_browser(explicit: str | None) -> str:
    """:func:`find_browser`, raising :class:`BrowserNotFound` when there is none."""
    found = find_browser(explicit)
    if found is None:
        raise BrowserNotFound(f"no Chromium found: {HOW_TO_INSTALL}")
    return found


def _checked(explicit: str) -> str:
    path = Path(explicit).expanduser()
    if _executable(path):
        return str(path)
    on_path = shutil.which(explicit)
    if on_path is not None:
        return on_path
    problem = "is not executable" if path.is_file() else "does not exist"
    raise BrowserNotFound(
        f"--browser {explicit}: {problem}; name a Chromium or Chrome executable, or "
        f"leave --browser out to use an installed one ({HOW_TO_INSTALL})",
        path=explicit,
    )


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def playwright_chromium() -> Path | None:
    """Playwright's own Chromium (``playwright install chromium``), if installed."""
    root = _playwright_browsers()
    if root is None or not root.is_dir():
        return None
    wanted = f"chromium-{_playwright_revision()}"
    folders = sorted(root.glob("chromium-*"), key=lambda f: (f.name != wanted, _revision(f)))
    for folder in folders:
        for layout in _PLAYWRIGHT_LAYOUTS:
            for candidate in sorted(folder.glob(layout)):
                if _executable(candidate):
                    return candidate
    return None


def _revision(folder: Path) -> int:
    """Newest first: the negated revision number (an unnumbered folder sorts last)."""
    number = folder.name.rpartition("-")[2]
    return -int(number) if number.isdigit() else 0


def _playwright_browsers() -> Path | None:
    """Where Playwright installs browsers: its documented variable, else its cache."""
    configured = os.environ.get("PLAYWRIGHT_BROWSERS_PATH")
    if configured == "0":  # "hermetic": inside the installed package
        package = _playwright_package()
        return None if package is None else package / "driver" / "package" / ".local-browsers"
    if configured:
        return Path(configured).expanduser()
    if sys.platform == "win32":
        local = os.environ.get("LOCALAPPDATA")
        return Path(local) / "ms-playwright" if local else None
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "ms-playwright"
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "ms-playwright"


def _playwright_package() -> Path | None:
    spec = find_spec("playwright")
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent


def _playwright_revision() -> str | None:
    """The Chromium revision the installed Playwright expects (its ``browsers.json``)."""
    package = _playwright_package()
    if package is None:
        return None
    try:
        listed = json.loads((package / "driver" / "package" / "browsers.json").read_text())
        return next(str(b["revision"]) for b in listed["browsers"] if b["name"] == "chromium")
    except (OSError, ValueError, KeyError, TypeError, StopIteration):
        return None

"""How far the crawl is, on the terminal: fed by ``crawl``'s ``progress`` callback.

The three phases run at once, so their calls interleave. On a terminal one line is
redrawn in place: each phase's pages done of planned, a bar for all of them and the page
just read. Anywhere else (CI logs, a file) a redrawn line is noise, so each phase writes
one line when it is over. Either goes to standard error, which leaves standard output to
the summary.
"""

from __future__ import annotations

import shutil
import sys
from types import TracebackType
from typing import TextIO

from .findings import PHASE_WORDS, printable
from .model import PHASES, Phase

_BAR_WIDTH = 20
_ERASE_TO_END = "\x1b[K"


class Progress:
    """A ``progress(phase, done, planned, url)`` callback for ``crawl``; ``close()`` when
    the crawl is over (or use it as a context manager).

    ``tty`` and ``width`` default to what ``stream`` is: given, they make the output the
    same on every machine (tests).
    """

    def __init__(
        self, stream: TextIO | None = None, *, tty: bool | None = None, width: int | None = None
    ) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self._tty = self._stream.isatty() if tty is None else tty
        self._width = width
        self._pages: dict[Phase, tuple[int, int]] = {}  # phase → (done, planned)
        self._reported: set[Phase] = set()
        self._drawn = False

    def __call__(self, phase: Phase, done: int, planned: int, url: str) -> None:
        self._pages[phase] = (done, max(planned, done))
        if self._tty:
            self._draw(url)
        elif done >= planned:
            # A phase is over when nothing more is planned: its frontier is empty or
            # it read --max-pages pages.
            self._report(phase)

    def close(self) -> None:
        """End the line on a terminal; elsewhere report the phases not reported yet."""
        if self._tty:
            if self._drawn:
                self._stream.write("\n")
                self._drawn = False
        else:
            for phase in PHASES:
                if phase in self._pages:
                    self._report(phase)
        self._stream.flush()

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _draw(self, url: str) -> None:
        done = sum(pages[0] for pages in self._pages.values())
        planned = max(sum(pages[1] for pages in self._pages.values()), 1)
        filled = _BAR_WIDTH * done // planned
        counts = "  ".join(
            f"{phase} {self._pages[phase][0]}/{self._pages[phase][1]}"
            for phase in PHASES
            if phase in self._pages
        )
        line = f"[{'#' * filled}{'-' * (_BAR_WIDTH - filled)}] {counts}  {printable(url)}"
        width = self._width or shutil.get_terminal_size().columns
        # One character short of the width: a full line wraps on some terminals, and
        # the next "\r" would then redraw the wrong line.
        self._stream.write("\r" + line[: max(width - 1, 1)] + _ERASE_TO_END)
        self._stream.flush()
        self._drawn = True

    def _report(self, phase: Phase) -> None:
        if phase in self._reported:
            return
        self._reported.add(phase)
        done = self._pages[phase][0]
        pages = "1 page" if done == 1 else f"{done} pages"
        self._stream.write(f"{PHASE_WORDS[phase]}: {pages} read\n")
        self._stream.flush()

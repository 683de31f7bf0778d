"""In-process benchmark of ``ConsentMiddleware`` against Starlette's ``SessionMiddleware``.

Run it with ``make bench`` (or ``python -m bench``). Everything is called directly as
ASGI with fake ``receive``/``send``: no server, no event loop, no test client, so that
what is measured is the middleware and nothing around it. See docs/performance.md.
"""

from .measure import Measurement, measure
from .report import Goal, goals, render

__all__ = ["Goal", "Measurement", "goals", "measure", "render"]

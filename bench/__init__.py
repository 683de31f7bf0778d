"""End-to-end benchmark: what ``ConsentMiddleware`` costs a site, in server CPU per request.

``python -m bench`` serves the same Starlette shop behind each stack (the app alone,
Starlette's ``SessionMiddleware``, ``ConsentMiddleware`` with several policies) with
uvicorn, drives each with wrk over loopback and reads the server process's CPU time
from ``/proc``. See docs/performance.md.
"""

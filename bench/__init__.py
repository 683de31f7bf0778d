"""End-to-end benchmark: what ``ConsentMiddleware`` costs a site, in server CPU per page.

``python -m bench`` serves the same Starlette shop behind each stack (the app alone,
Starlette's ``SessionMiddleware``, ``ConsentMiddleware`` with several policies) with
uvicorn, drives each with wrk over loopback and reads, over a window of each run, the
server process's CPU time from ``/proc`` and the pages it counted. See
docs/performance.md.
"""

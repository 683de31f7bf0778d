"""End-to-end benchmark: what ``ConsentMiddleware`` costs a site, in server CPU per page.

``python -m bench`` serves the same Starlette shop behind each stack (the app alone,
Starlette's ``SessionMiddleware``, ``ConsentMiddleware`` with several policies) with
uvicorn, and times groups of rows together: each row under a wrk of its own, the
group's servers sharing one CPU, every server's CPU time and page count read over the
same window. Overheads and their ratios are taken within each window. See
docs/performance.md.
"""

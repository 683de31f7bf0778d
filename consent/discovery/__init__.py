"""Discovery: what a site really stores, classified, before a policy enforces it.

The flow, one module per step:

``crawl`` (Playwright drives Chromium through the site in three phases: no choice,
after "reject all", after "accept all"; it notes every cookie, storage key and
third-party host as a *sighting*, ``model``) → ``aggregate`` (sightings merged into the
``scan.json`` entries, each classified by ``classify``: the policy's own declarations,
then the project's service ``catalogue``, then the Open Cookie Database, ``cookiedb``) →
``findings`` (what ran before consent or after a refusal, what is undeclared, what is
declared but never seen) → ``report`` (``scan.json``, ``policy-patch.yaml``,
``report.html``). ``party`` decides first or third party by registrable domain.

Only ``crawl`` needs Playwright (the ``scan`` extra); everything else is plain Python,
so the catalogue also serves the policy (``services:``) and the middleware's notes on
undeclared names.
"""

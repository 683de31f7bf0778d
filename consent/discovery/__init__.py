"""Discovery: what a site really stores, classified, before a policy enforces it.

The flow, one module per step:

``crawl`` (Playwright drives Chromium through the site in three phases: no choice,
after "reject all", after "accept all"; it notes every cookie, storage key and
third-party host as a *sighting*, ``model``) → ``aggregate`` (sightings merged into the
``scan.json`` entries, each classified by ``classify``: the policy's own declarations,
then the project's service catalogue, ``consent/policy/catalogue.py``, then the Open
Cookie Database, ``cookiedb``) →
``findings`` (what ran before consent or after a refusal, what is undeclared, what is
declared but never seen) → ``report`` (``scan.json``, ``policy-patch.yaml``,
``report.html``). ``party`` decides first or third party by registrable domain.

Only ``crawl`` needs Playwright (the ``scan`` extra). The catalogue sits with the policy,
not here: the policy expands ``services:`` from it and the middleware names the likely
service of an undeclared cookie with it, and neither may import this package.
"""

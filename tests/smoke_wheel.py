"""Smoke test of the built wheel, installed alone in a fresh virtualenv (``make package``).

Run as ``build/smoke-venv/bin/python -I tests/smoke_wheel.py SOURCE``: ``-I`` keeps the
checkout off ``sys.path`` and the script works in a temporary directory, so ``consent``
is the installed wheel. It imports nothing from the checkout and needs nothing the wheel
does not depend on: no test client, the app is called as an ASGI server would call it.
From SOURCE it reads only data: the version in pyproject.toml, the README's first Python
block, examples/consent.yaml, and the package's files to compare with the installed ones.

Its name does not start with ``test_``, so pytest does not collect it.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Message, Receive, Send], Awaitable[None]]

KEY = "smoke-wheel-key-0123456789abcdef"
HOST = "localhost:8000"
CONSOLE = Path(sys.executable).parent / "consent"


class SmokeFailure(Exception):
    """The installed wheel does not do what the checkout does."""


def check(condition: bool, what: str) -> None:
    if not condition:
        raise SmokeFailure(what)
    print(f"ok: {what}")


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        values = self.header_list(name)
        return values[0] if values else None

    def header_list(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key == name]

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


class Visitor:
    """One browser: sends requests to the app and keeps the cookies it is given."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.cookies: dict[str, str] = {}

    async def request(
        self, method: str, target: str, headers: dict[str, str] | None = None, body: bytes = b""
    ) -> Response:
        path, _, query = target.partition("?")
        sent = {"host": HOST, **(headers or {})}
        if self.cookies:
            sent["cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        scope: Message = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": [(key.encode(), value.encode()) for key, value in sent.items()],
            "client": ("127.0.0.1", 50000),
            "server": ("localhost", 8000),
        }
        incoming = [{"type": "http.request", "body": body, "more_body": False}]
        start: Message = {}
        chunks: list[bytes] = []

        async def receive() -> Message:
            if incoming:
                return incoming.pop()
            await asyncio.Event().wait()  # the visitor stays connected
            raise AssertionError("unreachable")

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        response = Response(
            start["status"],
            [(key.decode().lower(), value.decode()) for key, value in start["headers"]],
            b"".join(chunks),
        )
        for cookie in response.header_list("set-cookie"):
            name, _, rest = cookie.partition("=")
            value = rest.split(";")[0]
            if "max-age=0" in cookie.lower():
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return response

    async def get(self, target: str, headers: dict[str, str] | None = None) -> Response:
        return await self.request("GET", target, headers)


class Lifespan:
    """The app's lifespan, run as a server runs it: startup before requests, shutdown after."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.to_app: asyncio.Queue[Message] = asyncio.Queue()
        self.from_app: asyncio.Queue[Message] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        scope: Message = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}}
        await self.app(scope, self.to_app.get, self.from_app.put)

    async def event(self, name: str) -> None:
        if self.task is None:
            self.task = asyncio.create_task(self._run())
        await self.to_app.put({"type": f"lifespan.{name}"})
        answer = await asyncio.wait_for(self.from_app.get(), timeout=30)
        check(answer["type"] == f"lifespan.{name}.complete", f"lifespan {name}")
        if name == "shutdown":
            await self.task


def readme_quickstart(source: Path) -> str:
    readme = (source / "README.md").read_text(encoding="utf-8")
    match = re.search(r"^```python\n(.*?)^```", readme, re.MULTILINE | re.DOTALL)
    if match is None:
        raise SmokeFailure("README.md has no python block")
    return match[1]


async def drive_quickstart(app: ASGIApp, source: Path) -> None:
    server = Lifespan(app)
    await server.event("startup")
    visitor = Visitor(app)

    page = await visitor.get("/", {"accept-language": "en"})
    check(page.status == 200, "the quickstart page answers 200")
    check(page.header("content-type") == "text/html; charset=utf-8", "it is HTML")
    check("Analytics allowed: False" in page.text, "the page shows the undecided consent")
    check(page.header("set-cookie") is None, "no _ga before a choice")
    check('id="consent-banner"' in page.text, "the banner is injected (templates)")
    check('name="action" value="accept_all">Accept all</button>' in page.text, "Accept all")

    for extension, media_type in (("css", "text/css"), ("js", "text/javascript")):
        found = re.search(rf'"(/consent/static/banner\.[0-9a-f]{{12}}\.{extension})"', page.text)
        if found is None:
            raise SmokeFailure(f"the page links no banner.{extension}")
        asset = await visitor.get(found[1])
        expected = (source / "consent" / "banner" / "static" / f"banner.{extension}").read_bytes()
        check(asset.status == 200, f"banner.{extension} is served")
        check(asset.body == expected, f"banner.{extension} is the file of the checkout")
        check((asset.header("content-type") or "").startswith(media_type), f"as {media_type}")

    french = await Visitor(app).get("/", {"accept-language": "fr-FR,fr;q=0.9"})
    check('lang="fr"' in french.text and "Tout accepter" in french.text, "French texts")
    centre = await visitor.get("/consent/preferences?next=/")
    check(centre.status == 200 and 'value="save"' in centre.text, "the preferences page")
    fragment = await visitor.get("/consent/preferences?fragment=1&next=/")
    check('role="dialog"' in fragment.text, "the preference centre fragment")

    choice = await visitor.request(
        "POST",
        "/consent",
        {
            "content-type": "application/x-www-form-urlencoded",
            "origin": f"http://{HOST}",
            "sec-fetch-site": "same-origin",
        },
        urlencode({"action": "accept_all", "next": "/"}).encode(),
    )
    check(choice.status == 303 and choice.header("location") == "/", "Accept all answers 303")
    check("consent" in visitor.cookies, "the signed consent cookie is set")
    after = await visitor.get("/")
    check("Analytics allowed: True" in after.text, "the page shows the new consent")
    check((after.header("set-cookie") or "").startswith("_ga=GA1.1.123.456;"), "_ga now leaves")
    check('id="consent-banner"' not in after.text, "no banner once decided")

    await server.event("shutdown")


def run_console(*args: str, status: int = 0) -> subprocess.CompletedProcess[str]:
    # Only the installed console script, with no PYTHONPATH that could reach the checkout.
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    done = subprocess.run(  # noqa: S603 - the installed script, fixed arguments
        [str(CONSOLE), *args], capture_output=True, text=True, check=False, env=environment
    )
    if done.returncode != status:
        raise SmokeFailure(f"consent {' '.join(args)}: exit {done.returncode}\n{done.stderr}")
    return done


def main(source: Path) -> None:
    version = tomllib.loads((source / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "version"
    ]
    work = Path(tempfile.mkdtemp(prefix="consent-smoke-"))
    try:
        os.chdir(work)
        shutil.copy(source / "examples" / "consent.yaml", work / "consent.yaml")
        os.environ["CONSENT_SECRET_KEYS"] = KEY

        # Where `import consent` will look, found without running the package, so that a
        # missing file is named here rather than failing the import.
        spec = importlib.util.find_spec("consent")
        if spec is None or not spec.submodule_search_locations:
            raise SmokeFailure("consent is not installed")
        installed = Path(spec.submodule_search_locations[0])
        check(installed.is_relative_to(sys.prefix), f"consent is installed in {installed}")

        # Every file of the package (templates, static assets, py.typed) is in the wheel.
        package = source / "consent"
        expected = {
            path.relative_to(package)
            for path in package.rglob("*")
            if path.is_file() and "__pycache__" not in path.parts
        }
        missing = sorted(str(path) for path in expected if not (installed / path).is_file())
        if missing:
            raise SmokeFailure(f"not in the wheel: {', '.join(missing)}")
        print(f"ok: all {len(expected)} files of the package are installed")

        import consent

        check(Path(consent.__file__).parent == installed, "consent is imported from there")
        check(consent.__version__ == version, f"consent.__version__ is {version}")

        namespace: dict[str, Any] = {"__name__": "app"}
        exec(compile(readme_quickstart(source), "README.md", "exec"), namespace)  # noqa: S102
        asyncio.run(drive_quickstart(namespace["app"], source))

        checked = run_console("check", "consent.yaml").stdout
        check(checked.startswith("consent.yaml: valid."), "check")
        verified = run_console("records", "verify", "--config", "consent.yaml").stdout
        check(verified.startswith("ok: 1 records, chain intact"), "the choice was recorded")
        check(run_console("--version").stdout == f"consent {version}\n", "consent --version")
        # Without the scan extra the command is there and says what to install.
        scan = run_console("scan", "http://127.0.0.1:9/", status=2)
        check("asgi-cookie-consent[scan]" in scan.stderr, "consent scan names the scan extra")
    finally:
        os.chdir(source)
        shutil.rmtree(work, ignore_errors=True)
    print(f"smoke: the wheel of {version} works on its own")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -I tests/smoke_wheel.py SOURCE_DIRECTORY")
    try:
        main(Path(sys.argv[1]).resolve())
    except SmokeFailure as failure:
        sys.exit(f"smoke: FAILED: {failure}")

"""Browser tests: the real ``workbench serve`` as a subprocess, driven by headless Chromium.

- ``server`` (session): a data folder with 200 demo cases and the demo users (both written by
  ``workbench demo``), ``workbench serve --user demo.koordinator`` on a free port with a known
  token; waits until it answers and always stops it, its kernels included. ``lead_server``:
  the same data served to ``demo.projektleder``.
- ``browser`` (session): Debian's Chromium through Playwright (``make test`` installs it).
- ``context``/``page``: a tall Danish browser window; ``offsite`` records every request and
  websocket, aborts any that would leave 127.0.0.1, and fails the test if one was tried.
- ``watched_page``: a page of that context that records every traceback ever shown in it (even
  for a moment) and every dialog it opened (dismissed); checked again when the test ends.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
VIEWPORT = {"width": 1400, "height": 2400}
NOTEBOOK = "koordinator.ipynb"
START_TIMEOUT_S = 120
STOP_TIMEOUT_S = 30


@dataclass
class Server:
    """A running ``workbench serve``."""

    base: str
    token: str
    data: Path
    log: Path
    proc: subprocess.Popen[bytes]
    kernel_log: Path

    def url(self, notebook: str = NOTEBOOK, *, token: bool = True, query: str = "") -> str:
        params = "&".join(p for p in (f"token={self.token}" if token else "", query) if p)
        return f"{self.base}/voila/render/{notebook}" + (f"?{params}" if params else "")

    def log_text(self) -> str:
        return self.log.read_text("utf-8", errors="replace")

    def get(self, url: str, *, follow: bool = False) -> tuple[int, dict[str, str], str]:
        return fetch(url, follow=follow)

    def kernel_log_text(self) -> str:
        return self.kernel_log.read_text("utf-8", errors="replace") if self.kernel_log.exists() else ""

    def render(self, *, token: bool = True, query: str = "", notebook: str = NOTEBOOK) -> tuple[int, dict[str, str], str]:
        """GET a dashboard page as a browser would (the token's redirect followed with its cookie),
        then shut the kernel it started down."""
        status, headers, html = fetch(self.url(notebook, token=token, query=query), follow=True,
                                      cookies=http.cookiejar.CookieJar())
        kernel = re.search(r'"kernelId":\s*"([0-9a-f-]{36})"', html)
        if kernel:
            self.shutdown(kernel.group(1))
        return status, headers, html

    def kernels(self) -> int:
        """How many kernel processes this server has running (their environment names its data folder)."""
        count = 0
        for pid in _processes_serving(self.data):
            try:
                if b"ipykernel" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    count += 1
            except OSError:
                continue  # ended meanwhile
        return count

    def shutdown(self, kernel: str) -> None:
        """Shut a page's kernel down, as the page's beacon does when it is closed."""
        request = urllib.request.Request(f"{self.base}/voila/api/shutdown/{kernel}", data=b"",
                                         method="POST", headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=60):
            pass


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("WORKBENCH_DATA", "JUPYTER_TOKEN", "JUPYTER_TOKEN_FILE")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env["WORKBENCH_LANG"] = "da"
    return env


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fetch(url: str, *, follow: bool = False, timeout: float = 180,
          cookies: http.cookiejar.CookieJar | None = None) -> tuple[int, dict[str, str], str]:
    """GET ``url``: status, headers and body (redirects followed only when asked; ``cookies`` kept)."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    handlers: list[urllib.request.BaseHandler] = [] if follow else [NoRedirect()]
    if cookies is not None:
        handlers.append(urllib.request.HTTPCookieProcessor(cookies))
    opener = urllib.request.build_opener(*handlers)
    try:
        with opener.open(url, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode("utf-8", "replace")


def _processes_serving(data: Path) -> list[int]:
    """Processes (server, kernels) whose environment names this data folder (Linux; else none)."""
    marker = f"WORKBENCH_DATA={data}".encode()
    proc = Path("/proc")
    if not proc.is_dir():
        return []
    found = []
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def _signal_all(pids: list[int], sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def _stop(proc: subprocess.Popen[bytes], data: Path) -> None:
    """SIGTERM the server's process group (Voila then shuts its kernels down); force what is left."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    # Kernels run in sessions of their own: anything still holding our data folder goes too.
    left = _processes_serving(data)
    _signal_all(left, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = _processes_serving(data)
    _signal_all(left, signal.SIGKILL)


def demo_data(folder: Path, cases: int = 200) -> Path:
    """``workbench demo`` into ``folder/data`` (the demo users included)."""
    data = (folder / "data").resolve()
    demo = subprocess.run([sys.executable, "-m", "workbench.cli", "demo", "--cases", str(cases), "--data", str(data)],
                          env=_env(), cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert demo.returncode == 0, demo.stderr
    assert (data / "users.toml").is_file(), "workbench demo must write the demo users"
    return data


@contextmanager
def serving(data: Path, folder: Path, *extra: str) -> Iterator[Server]:
    """``workbench serve`` on ``data`` (with ``extra`` arguments) until the block ends, kernels included."""
    port = _free_port()
    token = secrets.token_urlsafe(24)
    log = folder / "serve.log"
    kernel_log = folder / "kernels.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "workbench.cli", "serve", "--data", str(data), "--port", str(port),
             f"--token={token}", "--log", str(kernel_log), *extra],
            env=_env(), cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    running = Server(f"http://127.0.0.1:{port}", token, data, log, proc, kernel_log)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"workbench serve exited with {proc.returncode}:\n{running.log_text()}")
            try:
                status, _, _ = fetch(f"{running.base}/login", timeout=5)
                if status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"workbench serve did not answer in {START_TIMEOUT_S} s:\n{running.log_text()}")
            time.sleep(0.3)
        yield running
    finally:
        _stop(proc, data)


@pytest.fixture(scope="session")
def demo_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's demo data folder (200 cases, the demo users)."""
    return demo_data(tmp_path_factory.mktemp("e2e"))


@pytest.fixture(scope="session")
def server(demo_folder: Path) -> Iterator[Server]:
    """``workbench serve --user demo.koordinator`` on demo data; stopped (kernels included) whatever happens."""
    with serving(demo_folder, demo_folder.parent, "--user", "demo.koordinator") as running:
        yield running


@pytest.fixture(scope="session")
def lead_server(demo_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The same demo data served to the project lead (``--user demo.projektleder``)."""
    with serving(demo_folder, tmp_path_factory.mktemp("lead"), "--user", "demo.projektleder") as running:
        yield running


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Headless Debian Chromium (``make test`` installs it when missing)."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make test` (installs Debian's chromium) "
                    "or `apt-get install -y chromium` as root")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


def is_local(url: str) -> bool:
    """True for addresses that stay on this machine's server (or never touch the network)."""
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about", "javascript"):
        return True
    return parts.hostname == "127.0.0.1"


@dataclass
class Offsite:
    """Every request and websocket a browser context made; the ones that would have left 127.0.0.1."""

    seen: list[str] = field(default_factory=list)
    external: list[str] = field(default_factory=list)

    def record(self, url: str) -> None:
        self.seen.append(url)
        if not is_local(url):
            self.external.append(url)

    def check(self) -> None:
        assert self.seen, "no request was recorded at all; the recorder is not wired"
        assert self.external == [], f"the page asked for addresses outside 127.0.0.1: {self.external}"


@pytest.fixture
def offsite() -> Offsite:
    return Offsite()


@pytest.fixture
def context(browser: object, offsite: Offsite) -> Iterator[object]:
    """A tall Danish browser context that aborts (and records) anything leaving 127.0.0.1."""
    ctx = browser.new_context(viewport=VIEWPORT, locale="da-DK", service_workers="block")  # type: ignore[attr-defined]
    ctx.on("request", lambda request: offsite.record(request.url))
    ctx.route(lambda url: not is_local(url), lambda route: route.abort())

    def on_page(page: object) -> None:
        page.on("websocket", lambda ws: offsite.record(ws.url))  # type: ignore[attr-defined]

    ctx.on("page", on_page)
    try:
        yield ctx
    finally:
        ctx.close()
    assert offsite.external == [], f"the page asked for addresses outside 127.0.0.1: {offsite.external}"


@pytest.fixture
def page(context: object) -> object:
    return context.new_page()  # type: ignore[attr-defined]


# Catches a traceback even if it is shown for a moment only: every node added or text changed
# is checked as it lands in the page.
WATCH_TRACEBACKS = """
window.__wbTracebacks = [];
new MutationObserver((mutations) => {
  for (const m of mutations) {
    const nodes = m.type === "characterData" ? [m.target] : Array.from(m.addedNodes);
    for (const n of nodes) {
      const text = n.textContent || "";
      if (text.includes("Traceback")) window.__wbTracebacks.push(text.slice(0, 2000));
    }
  }
}).observe(document, {subtree: true, childList: true, characterData: true});
"""


@dataclass
class WatchedPage:
    """A page that records each traceback it ever shows and each dialog it opens (dismissing it)."""

    page: Any
    dialogs: list[str] = field(default_factory=list)

    @classmethod
    def open(cls, context: Any) -> WatchedPage:
        """A new page of ``context``, watched from its first document on."""
        context.add_init_script(WATCH_TRACEBACKS)
        watched = cls(context.new_page())
        watched.page.on("dialog", watched._on_dialog)
        return watched

    def _on_dialog(self, dialog: Any) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def check(self) -> None:
        """No traceback shown now or at any point so far; no dialog ever opened."""
        assert "Traceback" not in self.page.inner_text("body")
        seen = self.page.evaluate("window.__wbTracebacks || []")
        assert seen == [], f"a traceback was shown in the page: {seen[0][:500]}"
        assert self.dialogs == [], f"the page opened a dialog: {self.dialogs}"

    def shot(self, path: Path) -> Path:
        """A screenshot of the whole dashboard.

        Voila's lab template scrolls inside ``#rendered_cells``, not the document, so a ``full_page``
        screenshot alone stops at the window's height: the window is made as tall as the content first.
        """
        height = self.page.evaluate(
            "() => Math.max(document.documentElement.scrollHeight,"
            " ...Array.from(document.querySelectorAll('body *'), (e) => e.scrollHeight))")
        size = self.page.viewport_size
        self.page.set_viewport_size({"width": size["width"], "height": max(size["height"], int(height))})
        try:
            self.page.screenshot(path=str(path), full_page=True)
        finally:
            self.page.set_viewport_size(size)
        return path


@pytest.fixture
def watched_page(context: Any) -> Iterator[WatchedPage]:
    """A ``WatchedPage`` of ``context``; checked once more when the test ends."""
    watched = WatchedPage.open(context)
    yield watched
    watched.check()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    return SCREENSHOTS

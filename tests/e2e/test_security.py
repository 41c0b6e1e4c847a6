"""The served dashboards under attack: every route behind the login, the token kept from the kernels,
no traceback or file path in any websocket frame, private runtime files.

Against the real ``workbench serve`` (``server`` fixture) and headless Chromium.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import stat
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from workbench import i18n

pytestmark = pytest.mark.e2e

LOAD_TIMEOUT_MS = 240_000
STEP_TIMEOUT_MS = 90_000
# What a traceback or a leaked source location looks like in a frame.
LEAKS = re.compile(rb"Traceback|site-packages|File \\?\"/|\.py\\?\", line|/workbench/")


def da(key: str, **values: Any) -> str:
    return i18n.t(key, "da", **values)


def _kernels(server: Any) -> list[str]:
    return re.findall(r"Kernel started: ([0-9a-f-]{36})", server.log_text())


def _login_cookies(server: Any) -> http.cookiejar.CookieJar:
    from conftest import fetch

    jar = http.cookiejar.CookieJar()
    status, _, _ = fetch(f"{server.base}/login?token={server.token}", cookies=jar, follow=True)
    assert status == 200
    return jar


def _cookie_header(jar: http.cookiejar.CookieJar) -> str:
    return "; ".join(f"{c.name}={c.value}" for c in jar)


# -- every route behind the login ------------------------------------------------------------------------

ROUTES = [
    "/", "/voila", "/voila/tree", "/voila/render/koordinator.ipynb", "/voila/render/projektleder.ipynb",
    "/voila/static/voila.js", "/voila/static/", "/voila/templates/brobygning/static/voila.css",
    "/voila/templates/lab/static/index.css", "/voila/api/themes/@jupyterlab/theme-light-extension/index.css",
    "/voila/labextensions/@jupyter-widgets/jupyterlab-manager/package.json", "/voila/files/koordinator.ipynb",
    "/voila/api/contents/", "/voila/api/shutdown/x", "/api/kernels/0000-0000-0000-0000-0000",
    "/workbench/", "/workbench/api/summary", "/lab", "/lab/tree/01_kom_godt_i_gang.ipynb", "/api/contents",
    "/files/01_kom_godt_i_gang.ipynb", "/api/terminals", "/terminals/1", "/jupyterlab-app-launcher", "/tree",
]


@pytest.mark.parametrize("route", ROUTES)
def test_nothing_is_served_before_login(server: Any, route: str) -> None:
    from conftest import fetch

    status, headers, body = fetch(server.base + route)
    if status in (301, 302) and "/login" not in headers.get("Location", ""):  # e.g. a trailing slash dropped
        status, headers, body = fetch(server.base + headers["Location"])
    if status == 302:
        assert "/login" in headers.get("Location", "")
    else:
        assert status in (403, 404, 405), (route, status)
    assert da("ui.title") not in body and "voila" not in body.lower().replace("voila-token", "")


def test_the_login_page_needs_no_file_from_the_server(server: Any, context: Any, offsite: Any) -> None:
    page = context.new_page()
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    page.goto(f"{server.base}/login", timeout=LOAD_TIMEOUT_MS)
    expect(page.get_by_label(da("serve.page.token_label"))).to_be_visible()
    assert [u for u in asked if not u.endswith("/login")] == []
    page.get_by_label(da("serve.page.token_label")).fill("not-the-token-at-all")
    page.get_by_role("button", name=da("serve.page.login_button")).click()
    expect(page.get_by_role("alert")).to_have_text(da("serve.page.login_failed"), timeout=STEP_TIMEOUT_MS)
    page.get_by_label(da("serve.page.token_label")).fill(server.token)
    page.get_by_role("button", name=da("serve.page.login_button")).click()
    # the landing page, then the coordinator's dashboard from it
    expect(page.locator(".wb-who")).to_contain_text("Demo Koordinator", timeout=LOAD_TIMEOUT_MS)
    assert page.url.endswith("/workbench/")
    page.get_by_role("link", name=da("landing.dashboard.coordinator")).click()
    expect(page.get_by_role("tab", name=da("ui.tab.overview"), exact=True)).to_be_visible(timeout=LOAD_TIMEOUT_MS)
    assert "token" not in page.url
    offsite.check()


def test_logout_shows_a_danish_page_and_ends_the_session(server: Any) -> None:
    from conftest import fetch

    jar = _login_cookies(server)
    status, _, body = fetch(f"{server.base}/logout", cookies=jar)
    assert status == 200 and da("serve.page.logout_heading") in body and 'lang="da"' in body
    status, headers, _ = fetch(f"{server.base}/voila/static/voila.js", cookies=jar)
    assert status == 403 or (status == 302 and "/login" in headers["Location"])


@pytest.mark.parametrize("path", [
    "/voila/templates/../../../../etc/passwd", "/voila/templates/brobygning/static/../../../../../etc/passwd",
    "/voila/templates/lab/static/../conf.json", "/voila/templates/foo", "/voila/templates/brobygning/x/y",
    "/voila/templates/%2e%2e/%2e%2e/etc/passwd",
])
def test_a_path_out_of_the_templates_is_not_found(server: Any, path: str) -> None:
    import urllib.request

    jar = _login_cookies(server)
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    request = urllib.request.Request(server.base + path)
    try:
        with opener.open(request, timeout=60) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read()
    assert status == 404, (path, status)
    assert b"root:" not in body
    assert "Siden findes ikke." in body.decode("utf-8")  # our Danish 404 page, not Jupyter's


# -- websockets --------------------------------------------------------------------------------------------


def _refused(url: str, **headers: str) -> int:
    try:
        with connect(url, additional_headers=headers or None, open_timeout=30, proxy=None) as socket:
            socket.recv(timeout=2)
    except InvalidStatus as refused:
        return int(refused.response.status_code)
    except TimeoutError:
        return 101  # accepted, and waiting
    return 101


def test_no_websocket_opens_without_login(server: Any) -> None:
    kernels = _kernels(server)
    assert kernels, "the server started no kernel"
    ws = server.base.replace("http://", "ws://")
    for kernel in kernels[:2]:
        assert _refused(f"{ws}/voila/query/{kernel}") == 403
        assert _refused(f"{ws}/api/kernels/{kernel}/channels?session_id={uuid.uuid4()}") == 403
    # A logged-in browser may not listen for other pages' requests either: kernels only.
    cookie = _cookie_header(_login_cookies(server))
    assert _refused(f"{ws}/voila/query/{kernels[0]}", Cookie=cookie, Origin=server.base) == 403
    assert _refused(f"{ws}/voila/query/{kernels[0]}", **{"X-Workbench-Kernel": "guessed"}) == 403


def test_the_token_never_reaches_a_kernel(server: Any, context: Any) -> None:
    page = context.new_page()
    page.goto(server.url(query="view=1"), wait_until="commit", timeout=LOAD_TIMEOUT_MS)
    expect(page.get_by_role("tab", name=da("ui.tab.overview"), exact=True)).to_be_visible(timeout=LOAD_TIMEOUT_MS)
    assert "token" not in page.url and page.url.endswith("koordinator.ipynb?view=1")
    requests = re.findall(r"page request for (\S+) received \(query parameters: ([^)]*)\)", server.kernel_log_text())
    assert requests, "no kernel logged its page request"
    assert requests[-1] == ("/voila/render/koordinator.ipynb", "view")
    assert all("token" not in names for _, names in requests)
    assert server.token not in server.kernel_log_text()


# -- no traceback in any frame -------------------------------------------------------------------------------


class KernelClient:
    """A second client of a page's kernel (as a forged page would be), speaking Jupyter's JSON protocol."""

    def __init__(self, socket: Any, session: str) -> None:
        self.socket = socket
        self.session = session
        self.frames: list[bytes] = []

    @classmethod
    def connect(cls, server: Any, kernel: str) -> Any:
        """The websocket to open (a context manager) and the session id it uses."""
        session = uuid.uuid4().hex
        ws = server.base.replace("http://", "ws://")
        return connect(f"{ws}/api/kernels/{kernel}/channels?session_id={session}",
                       additional_headers={"Cookie": _cookie_header(_login_cookies(server)), "Origin": server.base},
                       open_timeout=30, proxy=None, max_size=None), session

    def send(self, msg_type: str, content: dict[str, Any]) -> str:
        msg_id = uuid.uuid4().hex
        header = {"msg_id": msg_id, "msg_type": msg_type, "session": self.session, "username": "forger",
                  "date": "2026-12-02T00:00:00.000Z", "version": "5.3"}
        self.socket.send(json.dumps({"header": header, "parent_header": {}, "metadata": {}, "content": content,
                                     "channel": "shell", "buffers": []}))
        return msg_id

    def read(self, seconds: float, until: Any = None) -> list[dict[str, Any]]:
        """Messages for up to ``seconds``; stops early at the first message ``until(message)`` is true for."""
        messages = []
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                raw = self.socket.recv(timeout=left)
            except TimeoutError:
                break
            data = raw.encode() if isinstance(raw, str) else raw
            self.frames.append(data)
            if isinstance(raw, str):
                messages.append(json.loads(raw))
                if until is not None and until(messages[-1]):
                    break
        return messages

    def settle(self, seconds: float = 60) -> list[dict[str, Any]]:
        """Everything the kernel answers until it has handled every message sent so far: its shell
        channel handles messages in order, so the reply to one more request comes after them all."""
        asked = self.send("kernel_info_request", {})
        messages = self.read(seconds, until=lambda m: m.get("parent_header", {}).get("msg_id") == asked
                             and m.get("msg_type") == "kernel_info_reply")
        return messages + self.read(1)  # what the kernel published meanwhile travels on another channel

    def models(self) -> dict[str, dict[str, Any]]:
        """comm id -> the widget's state, asked of the kernel."""
        asked = self.send("comm_info_request", {"target_name": "jupyter.widget"})
        comms: list[str] = []
        for message in self.read(60, until=lambda m: m.get("parent_header", {}).get("msg_id") == asked
                                 and m.get("msg_type") == "comm_info_reply"):
            if message.get("msg_type") == "comm_info_reply":
                comms = list(message["content"]["comms"])
        for comm in comms:
            self.send("comm_msg", {"comm_id": comm, "data": {"method": "request_state"}})
        states: dict[str, dict[str, Any]] = {}

        def collect(message: dict[str, Any]) -> bool:
            """Keep a widget's state; done once every widget asked has answered (the answers come on
            the iopub channel, which a loaded machine may deliver well after the shell's replies)."""
            data = message.get("content", {}).get("data", {})
            if message.get("msg_type") == "comm_msg" and data.get("method") == "update":
                states.setdefault(message["content"]["comm_id"], {}).update(data.get("state", {}))
            return len(states) >= len(comms)

        self.read(120, until=collect)
        return states

    def forge(self, comm: str, state: dict[str, Any]) -> None:
        self.send("comm_msg", {"comm_id": comm, "data": {"method": "update", "state": state, "buffer_paths": []}})

    def click(self, comm: str) -> None:
        self.send("comm_msg", {"comm_id": comm, "data": {"method": "custom", "content": {"event": "click"}}})


def test_no_frame_carries_a_traceback_or_a_file_path(server: Any, watched_page: Any) -> None:
    page = watched_page.page
    frames: list[bytes] = []

    def watch(socket: Any) -> None:
        for event in ("framereceived", "framesent"):
            socket.on(event, lambda payload: frames.append(payload.encode() if isinstance(payload, str) else payload))

    page.on("websocket", watch)
    page.goto(server.url(), wait_until="commit", timeout=LOAD_TIMEOUT_MS)
    expect(page.locator(".wb-overview h3").first).to_be_visible(timeout=LOAD_TIMEOUT_MS)
    kernel = re.search(r'"kernelId":\s*"([0-9a-f-]{36})"', page.content())
    assert kernel

    # Bad answers typed in the questionnaire: a message at the field, nothing else.
    page.get_by_role("tab", name=da("ui.tab.overview"), exact=True).click()
    page.locator(".wb-overview button", has_text=da("ui.open")).first.click()
    case = page.locator(".wb-case")
    case.locator(".wb-step-measure").click()
    area = case.locator(".wb-case-step")
    for typed, item in (("², 2, 2", 1), ("2, ٢, 2", 2), ("2, 2, x", 3)):
        area.locator(".wb-field-answers input").fill(typed)
        area.locator(".wb-step-save").click()
        expect(area.locator(".wb-field-answers .wb-field-error")).to_have_text(
            da("measure.answer_digits", item=item), timeout=STEP_TIMEOUT_MS)

    # Forged widget messages from a second client of the page's kernel.
    opening, session = KernelClient.connect(server, kernel.group(1))
    with opening as socket:
        forger = KernelClient(socket, session)
        models = forger.models()
        kinds = {state.get("_model_name") for state in models.values()}
        assert {"DropdownModel", "TextModel", "ButtonModel"} <= kinds, kinds
        for comm, state in models.items():
            name = state.get("_model_name")
            if name == "DropdownModel":
                forger.forge(comm, {"index": 9999})
                forger.forge(comm, {"index": "not a number"})
            elif name == "TextModel":
                forger.forge(comm, {"value": ["not", "text"]})
            elif name == "TabModel":
                forger.forge(comm, {"selected_index": 77})
            elif name == "ButtonModel" and state.get("disabled"):
                forger.click(comm)  # a button the page shows disabled
        forger.settle()
    page.wait_for_timeout(1000)  # frames still on their way to the page

    assert frames, "no websocket frame was recorded"
    leaks = [f[:300] for f in frames + forger.frames if LEAKS.search(f)]
    assert leaks == [], f"a frame carries a traceback or a file path: {leaks[0]!r}"
    # The failures happened, and went to the server's log instead.
    log = server.kernel_log_text()
    assert "TraitError" in log or "Traceback" in log
    watched_page.check()


def test_runtime_and_connection_files_are_private(server: Any) -> None:
    from conftest import _processes_serving

    deadline = time.monotonic() + 120  # the preheated kernels start (and open the log) after the server
    while not server.kernel_log.exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    runtimes = set()
    for pid in _processes_serving(server.data):  # the Voila server and its kernels
        environ = Path(f"/proc/{pid}/environ").read_bytes().decode().split("\0")
        runtimes |= {item.split("=", 1)[1] for item in environ if item.startswith("JUPYTER_RUNTIME_DIR=")}
    assert runtimes, "no server found"  # one per server on this data folder (the lead's may run too)
    found = [p for runtime in map(Path, runtimes) for p in (runtime, *runtime.rglob("*"))]
    assert all(Path(r).is_dir() for r in runtimes)
    assert any(p.name.startswith("kernel-") for p in found), "no connection file found"
    # Files and folders are the owner's alone; a kernel's socket is reached only through its 0700 folder.
    loose = [str(p) for p in found if not stat.S_ISSOCK(os.stat(p).st_mode) and stat.S_IMODE(os.stat(p).st_mode) & 0o077]
    assert loose == []
    sockets = [p for p in found if stat.S_ISSOCK(os.stat(p).st_mode)]
    assert [str(p) for p in sockets if p.parent.stat().st_mode & 0o777 != 0o700] == []
    token = server.data / "voila-token"
    assert stat.S_IMODE(token.stat().st_mode) == 0o600
    assert stat.S_IMODE(server.kernel_log.stat().st_mode) == 0o600

"""The Jupyter server extension in a real ``jupyter server`` process: enabled by the install, the landing
page per role, the health check without a login."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

import workbench
from workbench.demo import ensure_demo_users, generate, loader
from workbench.serve import wait_until_listening

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "extension-test-token-0123456789"


def _free_port() -> int:
    with closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("extension") / "data"
    workbench.init(root)
    ensure_demo_users(root)
    generate(workbench.open(root, user=loader()), 30, seed=3)
    return root


class Server:
    """A ``jupyter server`` acting as one user, started the way JupyterHub starts one (the user in the environment)."""

    def __init__(self, root: Path, user: str, tmp: Path) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "WORKBENCH"))}
        env.update(WORKBENCH_DATA=str(root), WORKBENCH_USER=user, JUPYTER_CONFIG_DIR=str(tmp / "config"),
                   JUPYTER_RUNTIME_DIR=str(tmp / "runtime"), JUPYTER_DATA_DIR=str(tmp / "share"),
                   PYTHONPATH=str(ROOT))
        self.log = tmp / f"{user}.log"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jupyter_server", "--no-browser", "--ServerApp.ip=127.0.0.1",
             f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={TOKEN}",
             f"--ServerApp.root_dir={ROOT / 'notebooks'}", "--allow-root"],
            env=env, stdout=subprocess.DEVNULL, stderr=self.log.open("w"), stdin=subprocess.DEVNULL)
        assert wait_until_listening(self.port, timeout=60, alive=self.proc), self.log.read_text()[-2000:]

    def get(self, path: str, *, token: bool = True) -> tuple[int, str]:
        headers = {"Authorization": f"token {TOKEN}"} if token else {}
        request = urllib.request.Request(self.base + path, headers=headers)
        opener = urllib.request.build_opener(_NoRedirect)
        try:
            with opener.open(request, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


@pytest.fixture(scope="module")
def servers(demo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Server]]:
    started: dict[str, Server] = {}
    try:
        for user in ("demo.koordinator", "demo.projektleder", "demo.forsker", "demo.admin"):
            started[user] = Server(demo_root, user, tmp_path_factory.mktemp(user))
        yield started
    finally:
        for server in started.values():
            server.stop()


def _items(page: str) -> list[str]:
    return re.findall(r'class="wb-item wb-([a-z0-9_-]+)"', page)


@pytest.mark.parametrize(("user", "expected"), [
    ("demo.koordinator", ["dashboard-coordinator"]),
    ("demo.projektleder", ["dashboard-lead"]),
    ("demo.forsker", ["notebook-01_kom_godt_i_gang", "notebook-02_laboratorium_prototype",
                      "notebook-03_effektmaaling", "notebook-04_datakvalitet", "notebook-05_laeringslab"]),
    ("demo.admin", ["admin"]),
])
def test_the_landing_page_lists_exactly_what_the_role_may_open(servers: dict[str, Server], user: str,
                                                              expected: list[str]) -> None:
    status, page = servers[user].get("/workbench/")
    assert status == 200
    assert _items(page) == expected
    assert "Logget ind som" in page and '<html lang="da">' in page
    assert "<script" not in page and "http" not in page.replace(servers[user].base, "")  # nothing from elsewhere


def test_the_landing_page_links_where_the_role_works(servers: dict[str, Server]) -> None:
    _, page = servers["demo.koordinator"].get("/workbench/")
    assert 'href="/voila/render/koordinator.ipynb"' in page and "projektleder.ipynb" not in page
    _, page = servers["demo.forsker"].get("/workbench/")
    assert 'href="/lab/tree/03_effektmaaling.ipynb"' in page and "voila/render" not in page


def test_without_a_login_only_the_health_check_answers(servers: dict[str, Server]) -> None:
    server = servers["demo.koordinator"]
    status, body = server.get("/workbench/api/health", token=False)
    assert status == 200 and json.loads(body)["status"] == "ok"
    status, page = server.get("/workbench/", token=False)
    assert status in (302, 403) and "Koordinator" not in page


def test_a_user_not_in_users_toml_gets_one_sentence(demo_root: Path, tmp_path: Path) -> None:
    server = Server(demo_root, "ukendt.bruger", tmp_path)
    try:
        status, page = server.get("/workbench/")
    finally:
        server.stop()
    assert status == 403
    assert "ukendt.bruger" in page and "Traceback" not in page and 'class="wb-item' not in page




def test_the_root_address_leads_to_the_landing_page(servers: dict[str, Server]) -> None:
    request = urllib.request.Request(servers["demo.projektleder"].base + "/",
                                     headers={"Authorization": f"token {TOKEN}"})
    try:
        with urllib.request.build_opener(_NoRedirect).open(request, timeout=30) as answer:
            status, location = answer.status, answer.headers.get("Location", "")
    except urllib.error.HTTPError as error:
        status, location = error.code, error.headers.get("Location", "")
    assert status == 302
    assert location.endswith("/workbench/")

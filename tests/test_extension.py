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
        self.root = root
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
    assert f"Datamappe: {servers[user].root}" in page  # the page names the data folder it works on
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


def test_the_charts_bundle_a_kernel_kept_is_served_to_a_signed_in_browser_only(servers: dict[str, Server]) -> None:
    kernel = "from workbench.serving import chart_bundle; chart_bundle.enable(); print(chart_bundle.bundle_path().name)"
    name = subprocess.run([sys.executable, "-c", kernel], capture_output=True, text=True, timeout=120,
                          check=True).stdout.strip()  # a lead page's kernel, on this machine's cache folder
    server = servers["demo.projektleder"]
    status, body = server.get(f"/workbench/charts/{name}")
    assert status == 200 and body.startswith("// sha256 ") and "as default}" in body  # the module the charts import
    status, body = server.get(f"/workbench/charts/{name}", token=False)
    assert status in (302, 403) and "sha256" not in body
    for other in ("jupyterchart-0123456789abcdef.js", "users.toml", "..%2F..%2Fusers.toml"):
        assert server.get(f"/workbench/charts/{other}")[0] == 404, other


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


# --- the JSON API ---------------------------------------------------------------------------------


def _call(server: Server, method: str, path: str, body: object | None = None, *,
          headers: dict[str, str] | None = None) -> tuple[int, dict[str, object]]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(server.base + path, data=data, method=method, headers={
        "Content-Type": "application/json", **({"Authorization": f"token {TOKEN}"} if headers is None else headers)})
    try:
        with urllib.request.build_opener(_NoRedirect).open(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as error:
        text = error.read().decode(errors="replace")
        try:
            return error.code, json.loads(text)
        except ValueError:
            return error.code, {"text": text}


def _referral(key: str, **changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "client_key": key, "site": "ODE",
        "citizen": {"display_name": "Online Henvist", "birth_year": 1958, "postal_code": "5000"},
        "contact": {"phone": "20 30 40 50"},
        "consents": [{"purpose": "case_work", "given": True}, {"purpose": "referrer_feedback", "given": True}],
        "note": "Henvist fra lægens webformular",
    }
    body.update(changes)
    return body


def test_an_online_referral_is_idempotent_with_its_client_key(servers: dict[str, Server], demo_root: Path) -> None:
    server = servers["demo.koordinator"]
    status, first = _call(server, "POST", "/workbench/api/referrals", _referral("webform-0001"))
    assert status == 201, first
    assert str(first["case_number"]).startswith("ODE-") and first["replayed"] is False
    status, again = _call(server, "POST", "/workbench/api/referrals", _referral("webform-0001"))
    assert status == 200 and again["case_number"] == first["case_number"] and again["replayed"] is True
    cases = workbench.open(demo_root, user="demo.admin").tinydb().table("cases").all()
    assert [c["number"] for c in cases if c.get("client_key") == "webform-0001"] == [first["case_number"]]
    # the referrer's view: not arrived yet
    status, seen = _call(server, "GET", "/workbench/api/referrals/webform-0001")
    assert status == 200 and seen["arrived"] is False and seen["case_number"] == first["case_number"]


def test_the_api_refuses_with_the_dashboards_sentences(servers: dict[str, Server]) -> None:
    server = servers["demo.koordinator"]
    status, body = _call(server, "POST", "/workbench/api/referrals",
                         _referral("webform-0002", citizen={"display_name": "X", "postal_code": "500"}))
    assert status == 400 and body["field"] == "postal_code" and body["message"] == "Postnummer skal være 4 cifre."
    status, body = _call(server, "POST", "/workbench/api/referrals", _referral("webform-0003", site="AAR"))
    assert status == 403 and "koordinator" in str(body["message"]) and "AAR" in str(body["message"])
    status, body = _call(server, "POST", "/workbench/api/referrals",
                         _referral("webform-0004", consents=[{"purpose": "case_work", "given": False}]))
    assert status == 403 and body["error"] == "consent.case_work_required"
    for bad in ("kort", "med mellemrum 123", "x" * 65):
        status, body = _call(server, "POST", "/workbench/api/referrals", _referral(bad))
        assert status == 400 and body["field"] == "client_key", bad
    status, body = _call(server, "POST", "/workbench/api/referrals", _referral("webform-0005", extra=1))
    assert status == 400 and body["field"] == "extra"
    status, _ = _call(server, "POST", "/workbench/api/referrals", _referral("webform-0006"), headers={})
    assert status == 403  # no token
    status, body = _call(server, "GET", "/workbench/api/referrals/ingen-saadan-noegle")
    assert status == 404 and "ingen-saadan-noegle" in str(body["message"])


def test_a_cookie_without_the_xsrf_token_is_refused(servers: dict[str, Server]) -> None:
    server = servers["demo.koordinator"]
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    opener.open(f"{server.base}/workbench/?token={TOKEN}", timeout=30).read()  # a browser signs in
    request = urllib.request.Request(f"{server.base}/workbench/api/referrals", method="POST",
                                     data=json.dumps(_referral("webform-0007")).encode(),
                                     headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        opener.open(request, timeout=30)
    assert refused.value.code == 403 and "xsrf" in refused.value.read().decode().lower()


def test_the_referrer_learns_nothing_without_the_citizens_consent(servers: dict[str, Server]) -> None:
    server = servers["demo.koordinator"]
    status, _ = _call(server, "POST", "/workbench/api/referrals",
                      _referral("webform-0008", consents=[{"purpose": "case_work", "given": True}]))
    assert status == 201
    status, body = _call(server, "GET", "/workbench/api/referrals/webform-0008")
    assert status == 403 and body["error"] == "consent.referrer_feedback_missing" and "case_number" not in body


def test_the_lead_gets_suppressed_figures_and_a_coordinator_none(servers: dict[str, Server]) -> None:
    status, body = _call(servers["demo.projektleder"], "GET", "/workbench/api/summary")
    assert status == 200 and body["rows"]
    labels = {row["count_label"] for row in body["rows"]}  # type: ignore[union-attr,index]
    assert not labels & {"1", "2", "3", "4"}
    status, body = _call(servers["demo.koordinator"], "GET", "/workbench/api/summary")
    assert status == 403 and body["error"] == "access.refused"


# --- what each role's server offers beyond its pages --------------------------------------------------------


def _tiles(server: Server) -> list[dict[str, object]]:
    status, body = _call(server, "POST", "/jupyterlab-app-launcher", {"method": "init_launcher"})
    assert status == 200, body
    return [tile for tile in body if tile.get("catalog") == "Brobygning"]  # type: ignore[union-attr]


def test_jupyterlab_has_a_brobygning_tile_per_item_of_the_role(servers: dict[str, Server]) -> None:
    notebooks = _tiles(servers["demo.forsker"])
    assert [t["title"] for t in notebooks][:1] == ["Kom godt i gang med forskningsudtrækket"]
    assert [t["source"][0]["args"]["path"] for t in notebooks] == [  # type: ignore[index]
        "01_kom_godt_i_gang.ipynb", "02_laboratorium_prototype.ipynb", "03_effektmaaling.ipynb",
        "04_datakvalitet.ipynb", "05_laeringslab.ipynb"]  # the notebooks themselves, below the server's root
    assert all(str(t["icon"]).startswith("<svg") for t in notebooks)  # sent inline: nothing fetched from elsewhere
    dashboards = _tiles(servers["demo.koordinator"])
    assert [(t["type"], t["source"]) for t in dashboards] == [("url", "/voila/render/koordinator.ipynb")]
    assert _tiles(servers["demo.admin"]) == []


def test_a_coordinators_server_shows_no_file_and_opens_no_terminal(servers: dict[str, Server]) -> None:
    coordinator = servers["demo.koordinator"]
    for method, path in (("GET", "/api/contents"), ("GET", "/api/contents/01_kom_godt_i_gang.ipynb"),
                         ("GET", "/files/01_kom_godt_i_gang.ipynb"), ("GET", "/api/terminals"),
                         ("POST", "/api/terminals"), ("POST", "/api/kernels"), ("GET", "/api/sessions")):
        status, _ = _call(coordinator, method, path, {} if method == "POST" else None)
        assert status == 403, (method, path, status)
    status, listing = _call(servers["demo.forsker"], "GET", "/api/contents")
    assert status == 200 and any(f["name"] == "03_effektmaaling.ipynb" for f in listing["content"])  # type: ignore[union-attr,index]


def test_a_coordinators_dashboard_kernel_runs_no_code_sent_to_it(servers: dict[str, Server]) -> None:
    import time
    import uuid

    from websockets.sync.client import connect

    coordinator = servers["demo.koordinator"]
    status, page = coordinator.get("/voila/render/koordinator.ipynb")  # a page, from a preheated kernel
    found = re.search(r'"kernelId":\s*"([0-9a-f-]{36})"', page)
    assert status == 200 and found, page[-500:]
    session = uuid.uuid4().hex
    url = f"{coordinator.base.replace('http', 'ws')}/api/kernels/{found.group(1)}/channels?session_id={session}"

    def message(kind: str, content: dict[str, object]) -> str:
        header = {"msg_id": uuid.uuid4().hex, "msg_type": kind, "session": session, "username": "forger",
                  "date": "2026-12-03T00:00:00.000Z", "version": "5.3"}
        return json.dumps({"header": header, "parent_header": {}, "metadata": {}, "content": content,
                           "channel": "shell", "buffers": []})

    replies: list[str] = []
    with connect(url, additional_headers={"Authorization": f"token {TOKEN}"}, open_timeout=30, proxy=None) as ws:
        ws.send(message("execute_request", {"code": "open('/tmp/forged', 'w')", "silent": False,
                                            "store_history": False, "user_expressions": {}, "allow_stdin": False}))
        ws.send(message("kernel_info_request", {}))
        end = time.monotonic() + 20
        while "kernel_info_reply" not in replies and time.monotonic() < end:
            try:
                replies.append(json.loads(ws.recv(timeout=end - time.monotonic()))["header"]["msg_type"])
            except TimeoutError:
                break
    assert "kernel_info_reply" in replies  # the channel works ...
    assert "execute_input" not in replies and "execute_reply" not in replies  # ... but the code never ran


def test_a_server_rooted_elsewhere_gets_its_own_copies_of_the_notebooks(tmp_path: Path) -> None:
    from workbench.serving.items import NOTEBOOKS, notebooks_within

    assert notebooks_within(ROOT / "notebooks") == ""
    assert notebooks_within(ROOT) == "notebooks"
    home = tmp_path / "home"
    home.mkdir()
    assert notebooks_within(home) == "brobygning"
    assert sorted(p.stem for p in (home / "brobygning").iterdir()) == sorted(NOTEBOOKS)
    mine = home / "brobygning" / "03_effektmaaling.ipynb"
    mine.write_text("{}", "utf-8")  # the person's own edits ...
    (home / "brobygning" / "04_datakvalitet.ipynb").unlink()  # ... and a notebook they deleted
    assert notebooks_within(home) == "brobygning"
    assert mine.read_text("utf-8") == "{}"  # never overwritten
    assert (home / "brobygning" / "04_datakvalitet.ipynb").is_file()  # a missing one comes back
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "brobygning").write_text("not a folder", "utf-8")
    assert notebooks_within(locked) is None  # then the landing page leads to JupyterLab itself

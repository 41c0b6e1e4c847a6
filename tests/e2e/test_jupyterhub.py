"""The workbench on a real JupyterHub: ``docs/jupyterhub_config.py`` with DummyAuthenticator, the simple
local process spawner and configurable-http-proxy from npm (``make test`` installs it).

Two coordinators of different sites and a project lead sign in; their roles and sites come from the
hub's groups (one of them is in no ``users.toml`` before). Each finds only their own work, and a
coordinator's forged request for the other site is refused. Times are printed, never asserted.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, _free_port, _processes_serving, _signal_all, demo_data
from playwright.sync_api import expect

from workbench.i18n import t
from workbench.service import users

pytestmark = pytest.mark.slow
CHP = ROOT / ".venv" / "node" / "node_modules" / ".bin" / "configurable-http-proxy"
GROUPS = {
    "workbench-coordinator": ["demo.koordinator", "hub.aar"],
    "workbench-site-ODE": ["demo.koordinator"],
    "workbench-site-AAR": ["hub.aar"],
    "workbench-lead": ["demo.projektleder"],
}
SIGNED_IN = ("demo.koordinator", "hub.aar", "demo.projektleder")


@dataclass
class Hub:
    """A running JupyterHub on 127.0.0.1."""

    base: str
    data: Path
    proc: subprocess.Popen[bytes]
    log: Path


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


class Person:
    """One person's browser session with the hub and their own server (cookies kept)."""

    def __init__(self, hub: Hub, name: str) -> None:
        self.hub, self.name = hub, name
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def call(self, method: str, path: str, body: object | None = None, *, form: dict[str, str] | None = None,
             xsrf: bool = True) -> tuple[int, str, str]:
        """``path`` below the hub; JSON ``body`` or a ``form``; the server's XSRF header unless told not to."""
        headers: dict[str, str] = {}
        data = None
        if body is not None:
            data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
        token = next((c.value for c in self.jar if c.name == "_xsrf" and c.path == f"/user/{self.name}/"), None)
        if xsrf and token:
            headers["X-XSRFToken"] = token
        request = urllib.request.Request(self.hub.base + path, data=data, headers=headers, method=method)
        try:
            with self.opener.open(request, timeout=60) as answer:
                return answer.status, answer.geturl(), answer.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.geturl(), error.read().decode(errors="replace")

    def sign_in(self) -> float:
        """Sign in at the hub and wait for the person's server; returns the seconds it took."""
        started = time.monotonic()
        _, _, page = self.call("GET", "/hub/login")
        found = re.search(r'name="_xsrf" value="([^"]+)"', page)
        assert found, page[:500]
        status, url, _ = self.call("POST", "/hub/login?next=", form={"_xsrf": found.group(1), "username": self.name,
                                                                       "password": "demo"})
        assert status == 200 and "/hub/login" not in url, (status, url)
        health = urllib.request.build_opener(_NoRedirect)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                with health.open(f"{self.hub.base}/user/{self.name}/workbench/api/health", timeout=5) as answer:
                    if answer.headers.get_content_type() == "application/json":
                        break
            except (urllib.error.URLError, ConnectionError):
                pass  # a redirect to the hub until the proxy has the person's route
            time.sleep(0.2)
        else:
            raise AssertionError(f"{self.name}'s server never answered:\n{self.hub.log.read_text()[-3000:]}")
        status, url, _ = self.call("GET", f"/user/{self.name}/workbench/")  # the OAuth round with the hub
        assert status == 200 and url.endswith(f"/user/{self.name}/workbench/"), (status, url)
        return time.monotonic() - started

    def api(self, method: str, path: str, body: object | None = None, *, xsrf: bool = True) -> tuple[int, dict[str, Any]]:
        status, _, text = self.call(method, f"/user/{self.name}/workbench/api/{path}", body, xsrf=xsrf)
        try:
            return status, json.loads(text or "{}")
        except ValueError:
            return status, {"text": text}


def _config(run: Path, port: int) -> Path:
    """The hub's config: the documented one, with a test's authenticator, spawner, ports and groups."""
    path = run / "jupyterhub_config.py"
    path.write_text(f"""
c = get_config()  # noqa: F821
load_subconfig({str(ROOT / "docs" / "jupyterhub_config.py")!r})  # noqa: F821
c.JupyterHub.bind_url = "http://127.0.0.1:{port}"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{_free_port()}"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{_free_port()}"
c.ConfigurableHTTPProxy.command = [{str(CHP)!r}]
c.JupyterHub.db_url = "sqlite:///{run / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = {str(run / 'cookie_secret')!r}
c.JupyterHub.pid_file = {str(run / 'jupyterhub.pid')!r}
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allowed_users = {set(SIGNED_IN)!r}
c.JupyterHub.load_groups = {{name: {{"users": members}} for name, members in {GROUPS!r}.items()}}
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = {str(run / 'home' / '{username}')!r}
c.Spawner.args += ["--allow-root"] if {os.geteuid() == 0!r} else []
""", "utf-8")
    return path


def start_hub(run: Path, data: Path) -> Hub:
    """A hub on a free port for ``data``, answering (its state in ``run``); ``stop_hub`` ends it."""
    assert CHP.is_file(), "make test installs configurable-http-proxy from npm into .venv/node"
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "WORKBENCH"))}
    env.update(WORKBENCH_HOME=str(ROOT), WORKBENCH_DATA=str(data), WORKBENCH_HUB_GROUPS="1", WORKBENCH_LANG="da")
    log = run / "hub.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([str(Path(sys.executable).parent / "jupyterhub"), "-f", str(_config(run, port))],
                                cwd=run, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    found = Hub(f"http://127.0.0.1:{port}", data, proc, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            stop_hub(found)
            raise AssertionError(log.read_text()[-3000:])
        try:
            with urllib.request.urlopen(f"{found.base}/hub/health", timeout=5):
                return found
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    stop_hub(found)
    raise AssertionError(f"the hub did not answer in 60 s:\n{log.read_text()[-3000:]}")


def stop_hub(hub: Hub) -> None:
    """SIGTERM: the hub stops every server it started, and its proxy; whatever is left is killed."""
    if hub.proc.poll() is None:
        os.killpg(hub.proc.pid, signal.SIGTERM)
        try:
            hub.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(hub.proc.pid, signal.SIGKILL)
            hub.proc.wait()
    _signal_all(_processes_serving(hub.data), signal.SIGKILL)  # the servers run in sessions of their own


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    run = tmp_path_factory.mktemp("hub")
    started = start_hub(run, demo_data(run, cases=60))
    try:
        yield started
    finally:
        stop_hub(started)


@pytest.fixture(scope="module")
def people(hub: Hub) -> dict[str, Person]:
    assert "hub.aar" not in users.load(hub.data)  # only the hub's groups can make this coordinator
    signed: dict[str, Person] = {}
    for name in SIGNED_IN:
        signed[name] = Person(hub, name)
        print(f"\n[e2e] jupyterhub: {name} signed in, own server answering, {signed[name].sign_in():.1f} s")
    return signed


def _items(page: str) -> list[str]:
    return re.findall(r'class="wb-item wb-([a-z0-9_-]+)"', page)


def test_each_person_finds_only_their_own_work(people: dict[str, Person], hub: Hub) -> None:
    for name, expected in (("demo.koordinator", ["dashboard-coordinator"]), ("hub.aar", ["dashboard-coordinator"]),
                           ("demo.projektleder", ["dashboard-lead"])):
        status, _, page = people[name].call("GET", f"/user/{name}/workbench/")
        assert status == 200 and _items(page) == expected, (name, page[-800:])
    made = users.known(hub.data, "hub.aar")  # written from the hub's groups when the server started
    assert made.sites == ("AAR",) and made.roles == (users.Role.coordinator,)
    # A person's server is theirs alone: the hub refuses another person
    status, url, _ = people["demo.projektleder"].call("GET", "/user/demo.koordinator/workbench/")
    assert status == 403 or "/user/demo.koordinator/" not in url


def _referral(key: str, site: str) -> dict[str, object]:
    return {"client_key": key, "site": site, "citizen": {"display_name": "Hub Henvist", "birth_year": 1950,
                                                         "postal_code": "8000"},
            "consents": [{"purpose": "case_work", "given": True}, {"purpose": "referrer_feedback", "given": True}]}


def test_a_coordinators_forged_request_for_the_other_site_is_refused(people: dict[str, Person]) -> None:
    aarhus, odense = people["hub.aar"], people["demo.koordinator"]
    status, made = aarhus.api("POST", "referrals", _referral("hub-aar-0001", "AAR"))
    assert status == 201 and str(made["case_number"]).startswith("AAR-"), made
    status, refused = odense.api("POST", "referrals", _referral("hub-ode-forged", "AAR"))
    assert status == 403 and "AAR" in str(refused["message"]), refused
    status, seen = odense.api("GET", "referrals/hub-aar-0001")  # the other site's case: not even its existence
    assert status in (403, 404) and "case_number" not in seen, seen
    status, _ = odense.api("POST", "referrals", _referral("hub-ode-0001", "ODE"), xsrf=False)
    assert status == 403  # a cookie without the XSRF token
    status, summary = people["demo.projektleder"].api("GET", "summary")
    assert status == 200 and summary["rows"]
    assert odense.api("GET", "summary")[0] == 403


def test_a_coordinator_signs_in_at_the_hub_and_works_in_the_dashboard(hub: Hub, context: Any, offsite: Any) -> None:
    page = context.new_page()
    started = time.monotonic()
    page.goto(f"{hub.base}/hub/login", timeout=60_000)
    page.fill("input[name=username]", "hub.aar")
    page.fill("input[name=password]", "demo")
    page.click("input[type=submit], button[type=submit]")
    expect(page.locator(".wb-who")).to_contain_text("hub.aar", timeout=120_000)
    page.get_by_role("link", name=t("landing.dashboard.coordinator", "da")).click()
    expect(page.get_by_role("tab", name=t("ui.tab.overview", "da"), exact=True)).to_be_visible(timeout=120_000)
    print(f"\n[e2e] jupyterhub: sign-in to a usable dashboard {time.monotonic() - started:.1f} s")
    assert "/user/hub.aar/voila/render/koordinator.ipynb" in page.url
    offsite.check()

"""Twenty people at once on one machine (``python -m bench.sessions``).

On one demo store (default 100,000 cases, built with ``workbench demo`` unless ``--data`` holds
one) with its research extract, four ``workbench serve`` servers run side by side, one per
demo user, as JupyterHub would run one per person: the coordinators at Odense and at Aarhus, the
project lead, and a lab participant. Then, all at once:

- ``--coordinators`` (10) coordinator pages in headless Chromium, half on each site's server;
- ``--leads`` (5) project lead pages;
- ``--notebooks`` (5) notebook kernels on the lab server, each running a notebook's first cells
  (``%load_ext workbench``: the newest extract opened) through Jupyter's own REST and websocket API.

Printed: each page's and kernel's seconds from its request to usable (the overview shown, every
lead chart drawn, the extract's cases counted), and the memory (RSS) of every server and kernel
once all are usable, against the 6 GB target. The servers are always stopped, their kernels
included. Numbers are printed, never asserted.

    python -m bench.sessions                       # 100,000 cases
    python -m bench.sessions --cases 10000 --data /tmp/d10k
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.dashboard import E2E, LOAD_TIMEOUT_MS, PAGES, ROOT, Page, build_data, count_cases, start_server, wait_ready

TARGET_GB = 6.0
NOTEBOOK_CODE = "%load_ext workbench\nprint('cases', lab.cases.height)"


@dataclass(frozen=True)
class Session:
    """One page or notebook kernel opened during the storm."""

    what: str
    seconds: float | None  # request until usable; None: it failed (``error`` says how)
    error: str = ""


# -- a page in the browser ------------------------------------------------------------------------


async def open_page(browser: Any, server: Any, page_def: Page, what: str) -> Session:
    """Open ``page_def`` in a fresh browser context; seconds from navigation until it is usable."""
    context = await browser.new_context(viewport=E2E.VIEWPORT, locale="da-DK", service_workers="block")
    await context.route(lambda url: not E2E.is_local(url), lambda route: route.abort())
    started = time.perf_counter()
    try:
        page = await context.new_page()
        await page.goto(server.url(page_def.notebook), wait_until="commit", timeout=LOAD_TIMEOUT_MS)
        for selector in page_def.ready:
            await page.locator(selector).first.wait_for(state="visible", timeout=LOAD_TIMEOUT_MS)
        seconds = time.perf_counter() - started
        if "Traceback" in await page.inner_text("body"):
            return Session(what, None, "the page shows a traceback")
        return Session(what, seconds)
    except Exception as failed:  # noqa: BLE001 - a timeout or a closed page: reported, the others go on
        return Session(what, None, type(failed).__name__)


# -- a notebook kernel through Jupyter's API --------------------------------------------------------


def _start_kernel(server: Any) -> str:
    request = urllib.request.Request(f"{server.base}/api/kernels", data=json.dumps({"name": "python3"}).encode(),
                                     headers={"Authorization": f"token {server.token}",
                                              "Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=120) as answer:
        return str(json.loads(answer.read())["id"])


async def run_notebook(server: Any, what: str) -> Session:
    """Start a kernel, run the notebooks' first cells in it, and wait for the extract's case count."""
    from websockets.asyncio.client import connect

    started = time.perf_counter()
    try:
        kernel = await asyncio.to_thread(_start_kernel, server)
        session = uuid.uuid4().hex
        url = f"{server.base.replace('http://', 'ws://')}/api/kernels/{kernel}/channels?session_id={session}"
        async with connect(url, additional_headers={"Authorization": f"token {server.token}"}, max_size=None,
                           open_timeout=120) as socket:
            msg_id = uuid.uuid4().hex
            header = {"msg_id": msg_id, "msg_type": "execute_request", "session": session, "username": "bench",
                      "date": "2026-01-01T00:00:00.000Z", "version": "5.3"}
            await socket.send(json.dumps({"header": header, "parent_header": {}, "metadata": {}, "channel": "shell",
                                          "content": {"code": NOTEBOOK_CODE, "silent": False, "store_history": False,
                                                      "user_expressions": {}, "allow_stdin": False,
                                                      "stop_on_error": True}, "buffers": []}))
            printed = ""
            while True:
                message = json.loads(await asyncio.wait_for(socket.recv(), LOAD_TIMEOUT_MS / 1000))
                if message.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind = message["header"]["msg_type"]
                if kind == "stream":
                    printed += message["content"]["text"]
                elif kind == "error":
                    return Session(what, None, message["content"]["ename"])
                elif kind == "execute_reply":
                    break
        if "cases" not in printed:
            return Session(what, None, f"printed {printed.strip()!r}")
        return Session(what, time.perf_counter() - started)
    except Exception as failed:  # noqa: BLE001 - reported, the others go on
        return Session(what, None, type(failed).__name__)


# -- memory ---------------------------------------------------------------------------------------


def family_memory(server: Any) -> tuple[float, float, int]:
    """(MB of the server's own processes, MB of its kernels, number of kernels): RSS of the process tree."""
    import psutil

    root = psutil.Process(server.proc.pid)
    own = kernels = 0.0
    count = 0
    for process in [root, *root.children(recursive=True)]:
        try:
            mb = process.memory_info().rss / 2**20
            is_kernel = "ipykernel" in " ".join(process.cmdline())
        except psutil.Error:
            continue
        if is_kernel:
            kernels += mb
            count += 1
        else:
            own += mb
    return own, kernels, count


# -- the run --------------------------------------------------------------------------------------


async def storm(servers: dict[str, Any], coordinators: int, leads: int, notebooks: int) -> list[Session]:
    """Everything opened at once; each result as it finishes."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(E2E.CHROMIUM), args=E2E.CHROMIUM_ARGS,
                                                   headless=True)
        try:
            jobs = [open_page(browser, servers[site], PAGES["coordinator"], f"coordinator {site} {n // 2 + 1}")
                    for n, site in ((n, ("ODE", "AAR")[n % 2]) for n in range(coordinators))]
            jobs += [open_page(browser, servers["lead"], PAGES["lead"], f"lead {n + 1}") for n in range(leads)]
            jobs += [run_notebook(servers["lab"], f"notebook {n + 1}") for n in range(notebooks)]
            return list(await asyncio.gather(*jobs))
        finally:
            await browser.close()


def make_extract(data: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "workbench.cli", "extract", "--data", str(data), "--user", "demo.admin"],
                          env=E2E._env(), cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"workbench extract failed:\n{done.stderr}")


def run(cases: int, data: Path | None, keep: bool, coordinators: int, leads: int, notebooks: int) -> None:
    if not E2E.CHROMIUM.exists():
        raise SystemExit(f"{E2E.CHROMIUM} is missing (apt-get install chromium)")
    folder = Path(tempfile.mkdtemp(prefix="bench-sessions-"))
    data = (data or folder / "data").resolve()
    servers: dict[str, Any] = {}
    try:
        if (data / "users.toml").is_file():
            print(f"data: reusing {data}")
        else:
            print(f"data: {cases:,} demo cases built in {build_data(data, cases):.1f} s into {data}")
        if not (data / "extracts" / "LATEST").is_file():
            make_extract(data)
        print(f"data: {count_cases(data):,} cases in the store, extract {(data / 'extracts' / 'LATEST').read_text().strip()}")
        (folder / "work").mkdir()
        users = {"ODE": "demo.koordinator", "AAR": "demo.koordinator.aar", "lead": "demo.projektleder", "lab": "demo.lab"}
        token = secrets.token_urlsafe(24)  # one data folder, one token file: the servers share it
        for key, user in users.items():
            servers[key] = start_server(data, folder / f"{key}.log", user, token=token)
        started = time.perf_counter()
        for key in ("ODE", "AAR", "lead"):
            wait_ready(servers[key])
        print(f"servers: four started, preheated kernels ready after {time.perf_counter() - started:.1f} s")
        before = {key: family_memory(server) for key, server in servers.items()}

        began = time.perf_counter()
        sessions = asyncio.run(storm(servers, coordinators, leads, notebooks))
        storm_s = time.perf_counter() - began
        after = {key: family_memory(server) for key, server in servers.items()}

        print(f"\n== {len(sessions)} sessions opened at once: seconds from request to usable")
        for session in sessions:
            shown = f"{session.seconds:6.2f} s" if session.seconds is not None else f"FAILED ({session.error})"
            print(f"  {session.what:<18} {shown}")
        for kind in ("coordinator", "lead", "notebook"):
            times = [s.seconds for s in sessions if s.what.startswith(kind) and s.seconds is not None]
            if times:
                print(f"  {kind:<12} median {statistics.median(times):6.2f} s, slowest {max(times):6.2f} s")
        failed = [s for s in sessions if s.seconds is None]
        print(f"  all usable: {'yes' if not failed else f'NO, {len(failed)} failed'}; the last after {storm_s:.1f} s")

        print("\n== memory (RSS) once all were usable (before the storm in brackets)")
        total = 0.0
        for key, (own, kernels, count) in after.items():
            b_own, b_kernels, b_count = before[key]
            print(f"  {users[key]:<22} server {own:6.0f} MB ({b_own:.0f}), {count:2} kernels {kernels:6.0f} MB "
                  f"({b_count} kernels, {b_kernels:.0f} MB)")
            total += own + kernels
        print(f"  total: {total / 1024:.2f} GB = {total / 1024 / TARGET_GB:.2f}x the target of {TARGET_GB:.0f} GB")
    finally:
        for server in servers.values():
            E2E._stop(server.proc, data)
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.sessions", description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100_000, help="demo cases to build (default 100000)")
    parser.add_argument("--data", type=Path, help="data folder to reuse, or to build into (kept)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder and the servers' logs")
    parser.add_argument("--coordinators", type=int, default=10, help="coordinator pages, half at each site (default 10)")
    parser.add_argument("--leads", type=int, default=5, help="project lead pages (default 5)")
    parser.add_argument("--notebooks", type=int, default=5, help="notebook kernels on the extract (default 5)")
    args = parser.parse_args(argv)
    os.chdir(ROOT)
    run(args.cases, args.data, args.keep, args.coordinators, args.leads, args.notebooks)


if __name__ == "__main__":
    main()

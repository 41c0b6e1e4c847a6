"""Time to a usable dashboard, measured in a real browser (``python -m bench.dashboard``).

``--page coordinator`` (default): until the coordinator's overview shows. ``--page lead``: until
every chart of the project lead's page is drawn (the funnel by vega-embed in the browser, the
others as SVG rendered in the kernel).

Builds a data folder with N demo cases and the demo users (``workbench demo``), starts the
real ``workbench serve`` (the helpers of ``tests/e2e/conftest.py``), waits until Voila's
preheated kernel is ready, then for each of ``--loads`` page loads in headless Chromium
measures the seconds from navigation to the overview being visible (``.wb-overview`` with
its first section). Before each load the kernel pool is refilled, so every load gets a
preheated kernel, as a coordinator opening the dashboard normally would.

The server-side part is measured on its own: a plain HTTP GET of the page (no browser) returns
once the kernel has built the dashboard and Voila has rendered its HTML; shutting that kernel
down afterwards is timed separately.

The reference, ``bench/reference/bare.ipynb``, is a page that imports polars, altair and ipywidgets
and shows a few dozen widgets. The same server serves it (``reference_config``), from its own pool of
preheated kernels, in the same run: every time and every kernel's memory is printed beside its ratio
to the reference's.

Also printed: the memory (RSS) of the server and of every kernel process, and after ``--churn``
(20) more page loads and closes, the total against the target (the server plus its pool). The
servers are always stopped, their kernels included. Numbers are printed, never asserted.

    python -m bench.dashboard                     # 10,000 cases, 3 loads
    python -m bench.dashboard --cases 2000 --loads 5
    python -m bench.dashboard --data /tmp/d10k    # reuse (or build once into) a data folder
"""

from __future__ import annotations

import argparse
import http.cookiejar
import importlib.util
import json
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from workbench.ui.lead import VIEWS

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Page:
    """A dashboard to time: its notebook, what shows it is usable, and the target."""

    notebook: str
    ready: tuple[str, ...]  # CSS selectors that must all be visible
    what: str
    target_s: float


PAGES = {
    "coordinator": Page("koordinator.ipynb", (".wb-overview h3",), "the overview", 3.0),
    "lead": Page("projektleder.ipynb", (".wb-lead-chart-funnel svg .mark-rect path",
                                        *(f".wb-lead-chart-{view} .vega-embed svg" for view in VIEWS
                                          if view != "funnel")),
                 "every chart", 2.0),
}
REFERENCE = Page("bare.ipynb", (".wb-bare",), "the widget", 0.0)
REFERENCE_DIR = ROOT / "bench" / "reference"
PREHEATED = "Using pre-heated kernel"
READY_TIMEOUT_S = 600
LOAD_TIMEOUT_MS = 300_000


def _conftest() -> ModuleType:
    """``tests/e2e/conftest.py`` loaded by path (``tests`` is not a package)."""
    spec = importlib.util.spec_from_file_location("workbench_e2e_conftest", ROOT / "tests" / "e2e" / "conftest.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


E2E = _conftest()


@dataclass
class Load:
    """One page load in the browser."""

    first_byte_s: float  # navigation until the first bytes of the page arrived
    html_done_s: float  # navigation until the last byte of the page arrived (the kernel ran the notebook)
    usable_s: float  # navigation until the page was usable (the overview, or every chart, visible)
    preheated: bool
    kernel_id: str
    tabs: dict[str, float | None]  # first opening of each other tab: seconds until shown (None: timed out)
    kernel_mb: float  # the page's kernel's memory (RSS) just before the page was closed


# -- the data folder and the server ------------------------------------------------------------


def build_data(data: Path, cases: int) -> float:
    """``workbench demo --cases N`` into ``data`` (which also writes the demo users); seconds taken."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "workbench.cli", "demo", "--cases", str(cases), "--data", str(data)],
                          env=E2E._env(), cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"workbench demo failed:\n{done.stdout}\n{done.stderr}")
    if not (data / "users.toml").is_file():
        raise SystemExit("workbench demo wrote no users.toml")
    return time.perf_counter() - started


def count_cases(data: Path) -> int:
    import workbench

    return int(workbench.open(data, user="demo.indlaesning", create=False).frames.cases.height)


def reference_config(folder: Path) -> Path:
    """A Jupyter config folder that makes the server read the dashboards from a copy in ``folder`` that also
    holds the reference page, and keep that page preheated too: the page and the reference are then served
    by one server, the same way, in the same run."""
    pages = folder / "pages"
    pages.mkdir(parents=True, exist_ok=True)
    for notebook in (*(ROOT / "dashboards").glob("*.ipynb"), REFERENCE_DIR / REFERENCE.notebook):
        shutil.copyfile(notebook, pages / notebook.name)
    conf = folder / "jupyter-config"
    conf.mkdir(exist_ok=True)
    (conf / "jupyter_server_config.json").write_text(json.dumps(
        {"WorkbenchApp": {"dashboards_folder": str(pages), "preheat_also": [REFERENCE.notebook]}}), "utf-8")
    return conf


def start_server(data: Path, log: Path, user: str, config: Path | None = None, token: str | None = None) -> Any:
    """``workbench serve --user USER`` on a free port with a fresh token (its own process group);
    ``config``: a Jupyter config folder to read besides the usual ones (``reference_config``); ``token``:
    the data folder's token, which every server started on one folder must share (it keeps one token file)."""
    port = E2E._free_port()
    token = token or secrets.token_urlsafe(24)
    kernel_log = log.with_suffix(".kernels.log")
    env = E2E._env()
    if config is not None:
        env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(p for p in (str(config), env.get("JUPYTER_CONFIG_PATH", "")) if p)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "workbench.cli", "serve", "--data", str(data), "--port", str(port), f"--token={token}",
             "--log", str(kernel_log), "--user", user],
            env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    return E2E.Server(f"http://127.0.0.1:{port}", token, data, log, proc, kernel_log)


def wait_until(server: Any, what: str, ready: Any, timeout: float = READY_TIMEOUT_S) -> float:
    """Poll ``ready()`` until true; seconds waited (the server dying or the timeout ends the run)."""
    started = time.perf_counter()
    while not ready():
        if server.proc.poll() is not None:
            raise SystemExit(f"workbench serve exited with {server.proc.returncode}:\n{server.log_text()}")
        if time.perf_counter() - started > timeout:
            raise SystemExit(f"gave up waiting for {what} after {timeout:.0f} s:\n{server.log_text()[-4000:]}")
        time.sleep(0.2)
    return time.perf_counter() - started


def answers(server: Any) -> bool:
    try:
        status, _, _ = E2E.fetch(f"{server.base}/login", timeout=5)
    except OSError:
        return False
    return bool(status == 200)


def _tcp_peers(pid: int) -> set[int]:
    """Remote ports of the established TCP connections of process ``pid`` (Linux /proc)."""
    inodes = set()
    try:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    except OSError:
        return set()
    ports = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if len(parts) > 9 and parts[9] in inodes and parts[3] == "01":  # 01: ESTABLISHED
                ports.add(int(parts[2].rsplit(":", 1)[1], 16))
    return ports


def preheated_kernels(server: Any) -> set[str]:
    """Kernels waiting in ``wait_for_request``: their websocket to ``/voila/query`` is open.

    Voila logs "Kernel pool ... is filled" when a pool kernel has been *started*, not when it
    has run the notebook's first cell (imports, store, frames); the open query socket is the
    sign that it has, and now only waits for a page request.
    """
    port = int(server.base.rsplit(":", 1)[1])
    return {kernel for pid, role, _, kernel in processes(server) if role == "kernel" and port in _tcp_peers(pid)}


def pools_ready(server: Any) -> bool:
    """Every kernel still in a pool (of any dashboard notebook) has run its first cell.

    ``workbench serve`` preheats a kernel for each notebook in ``dashboards/``; waiting for all
    of them keeps one still warming up from competing with the page being measured.
    """
    log = server.log_text()
    taken = set(re.findall(rf"{PREHEATED}: ([0-9a-f-]{{36}})", log))
    kernels = {kernel for _, role, _, kernel in processes(server) if role == "kernel"}
    pooled = kernels - taken
    return bool(pooled) and pooled <= preheated_kernels(server)


# -- measuring ------------------------------------------------------------------------------------


def server_side_render(server: Any, page: Page) -> tuple[float, float]:
    """Seconds for a plain GET of the page to return (kernel run + HTML), and for shutting that kernel down."""
    used = server.log_text().count(PREHEATED)
    started = time.perf_counter()
    status, _, html = E2E.fetch(server.url(page.notebook), follow=True, cookies=http.cookiejar.CookieJar())
    elapsed = time.perf_counter() - started
    if status != 200 or "Traceback" in html:
        raise SystemExit(f"the page did not render (HTTP {status})")
    if server.log_text().count(PREHEATED) == used:
        print("note: a server-side render did not get a preheated kernel")
    kernel = re.search(r'"kernelId":\s*"([0-9a-f-]{36})"', html)
    started = time.perf_counter()
    if kernel:
        server.shutdown(kernel.group(1))
    return elapsed, time.perf_counter() - started


TABS = {"volunteers": ".wb-volunteers", "intake": ".wb-intake", "case": ".wb-case", "communities": ".wb-communities"}


def open_tabs(page: Any, timeout_s: float) -> dict[str, float | None]:
    """Open each other tab once (each is built on first selection); seconds until it shows."""
    from workbench import i18n

    times: dict[str, float | None] = {}
    for key, css in TABS.items():
        started = time.perf_counter()
        page.get_by_role("tab", name=i18n.t(f"ui.tab.{key}", "da"), exact=True).click(timeout=timeout_s * 1000)
        try:
            page.locator(css).wait_for(state="visible", timeout=timeout_s * 1000)
            times[key] = time.perf_counter() - started
        except Exception:  # noqa: BLE001 - a Playwright timeout: report it, go on with the next tab
            times[key] = None
    return times


def browser_load(browser: Any, server: Any, shown: Page, tab_timeout_s: float = 0) -> Load:
    """Open the dashboard in a fresh context; time to first byte and to the page being usable."""
    used = server.log_text().count(PREHEATED)
    context = browser.new_context(viewport=E2E.VIEWPORT, locale="da-DK", service_workers="block")
    context.route(lambda url: not E2E.is_local(url), lambda route: route.abort())
    try:
        page = context.new_page()
        started = time.perf_counter()
        page.goto(server.url(shown.notebook), wait_until="commit", timeout=LOAD_TIMEOUT_MS)
        first_byte = time.perf_counter() - started
        for selector in shown.ready:
            page.locator(selector).first.wait_for(state="visible", timeout=LOAD_TIMEOUT_MS)
        usable = time.perf_counter() - started
        text = page.inner_text("body")
        if "Traceback" in text:
            raise SystemExit("the page shows a traceback")
        html_done = page.evaluate("performance.getEntriesByType('navigation')[0].responseEnd") / 1000
        kernel = re.search(r'"kernelId":\s*"([0-9a-f-]{36})"', page.content())
        preheated = server.log_text().count(PREHEATED) > used
        tabs = open_tabs(page, tab_timeout_s) if tab_timeout_s else {}
        kernel_id = kernel.group(1) if kernel else "?"
        kernel_mb = next((mb for _, _, mb, found in processes(server) if found == kernel_id), 0.0)
        page.close(run_before_unload=True)  # as a tab is closed: the page's kernel is shut down
        return Load(first_byte, html_done, usable, preheated, kernel_id, tabs, kernel_mb)
    finally:
        context.close()


def churn(browser: Any, server: Any, shown: Page, loads: int, settle_s: float = 60) -> tuple[int, float]:
    """``loads`` page loads, each closed as a tab is (its beacon sent); then the kernels left and seconds waited."""
    pooled = server.kernels()
    context = browser.new_context(viewport=E2E.VIEWPORT, locale="da-DK", service_workers="block")
    context.route(lambda url: not E2E.is_local(url), lambda route: route.abort())
    try:
        for _ in range(loads):
            page = context.new_page()
            page.goto(server.url(shown.notebook), wait_until="commit", timeout=LOAD_TIMEOUT_MS)
            for selector in shown.ready:
                page.locator(selector).first.wait_for(state="visible", timeout=LOAD_TIMEOUT_MS)
            page.close(run_before_unload=True)
    finally:
        context.close()
    started = time.perf_counter()
    while server.kernels() > pooled and time.perf_counter() - started < settle_s:
        time.sleep(1)
    return server.kernels(), time.perf_counter() - started


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def processes(server: Any) -> list[tuple[int, str, float, str]]:
    """(pid, role, RSS MB, kernel id) of the server and its kernels (psutil if present, else /proc)."""
    psutil: ModuleType | None
    try:
        import psutil
    except ImportError:
        psutil = None
    found = []
    if psutil is not None:
        root = psutil.Process(server.proc.pid)
        family = [root, *root.children(recursive=True)]
        pids = {p.pid for p in family}  # (not every process on the data folder: bench.sessions runs four servers on it)
    else:
        pids = {server.proc.pid} | set(E2E._processes_serving(server.data))
    for pid in sorted(pids):
        line = cmdline(pid)
        if "ipykernel" in line:
            kernel = re.search(r"kernel-([0-9a-f-]{36})\.json", line)
            found.append((pid, "kernel", rss_mb(pid), kernel.group(1) if kernel else "?"))
        elif "workbench.cli serve" in line:
            found.append((pid, "serve", rss_mb(pid), ""))
        elif "jupyter_server" in line:
            found.append((pid, "server", rss_mb(pid), ""))
        elif "voila" in line:
            found.append((pid, "voila", rss_mb(pid), ""))
    return found


# -- the run --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measured:
    """One page measured on one server."""

    renders: list[float]
    shutdowns: list[float]
    loads: list[Load]
    memory: list[tuple[int, str, float, str]]
    churned: tuple[int, float, list[tuple[int, str, float, str]]] | None = None  # after 20 loads and closes

    @property
    def median_usable(self) -> float:
        return statistics.median(r.usable_s for r in self.loads)


def wait_ready(server: Any) -> float:
    """Seconds until the server answers and its preheated kernels are ready."""
    started = time.perf_counter()
    wait_until(server, "the server to answer", lambda: answers(server))
    wait_until(server, "the preheated kernels", lambda: pools_ready(server))
    return time.perf_counter() - started


def measure(server: Any, shown: Page, loads: int, tab_timeout_s: float, churn_loads: int = 0) -> Measured:
    """``loads`` server-side renders, then ``loads`` browser loads, each with a preheated kernel;
    then (``churn_loads``) that many loads and closes, and the memory left after them."""
    from playwright.sync_api import sync_playwright

    renders, shutdowns = [], []
    for _ in range(loads):
        render, shutdown = server_side_render(server, shown)
        renders.append(render)
        shutdowns.append(shutdown)
        wait_until(server, "the next preheated kernel", lambda: pools_ready(server))
    results: list[Load] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(E2E.CHROMIUM), args=E2E.CHROMIUM_ARGS, headless=True)
        try:
            for n in range(loads):
                # The other tabs are timed on the last load only (they are built in the same kernel).
                results.append(browser_load(browser, server, shown, tab_timeout_s if n == loads - 1 else 0))
                # The next load also gets a fully preheated kernel. (Meanwhile, refilling the pool
                # competed for the CPU with the page being built, as it does in real use.)
                wait_until(server, "the next preheated kernel", lambda: pools_ready(server))
            memory = processes(server)
            churned = None
            if churn_loads:
                left, waited = churn(browser, server, shown, churn_loads)
                wait_until(server, "the pool refilled", lambda: pools_ready(server))
                churned = (left, waited, processes(server))
        finally:
            browser.close()
    return Measured(renders, shutdowns, results, memory, churned)


def run(cases: int, loads: int, data: Path | None, keep: bool, tab_timeout_s: float, shown: Page,
        churn_loads: int = 20) -> None:
    if not E2E.CHROMIUM.exists():
        raise SystemExit(f"{E2E.CHROMIUM} is missing (apt-get install chromium)")
    folder = Path(tempfile.mkdtemp(prefix="bench-dashboard-"))
    data = (data or folder / "data").resolve()
    log = folder / "serve.log"
    server = None
    try:
        if (data / "users.toml").is_file() and data.is_dir() and any(data.iterdir()):
            print(f"data: reusing {data}")
        else:
            built = build_data(data, cases)
            print(f"data: {cases:,} demo cases built in {built:.1f} s into {data}")
        held = count_cases(data)
        print(f"data: {held:,} cases in the store")

        user = "demo.koordinator" if shown is PAGES["coordinator"] else "demo.projektleder"
        server = start_server(data, log, user, reference_config(folder))
        ready = wait_ready(server)
        print(f"server: the one Jupyter server's preheated kernels ready {ready:.1f} s after start "
              "(kernel start, imports, store opened)")
        page = measure(server, shown, loads, tab_timeout_s if shown is PAGES["coordinator"] else 0, churn_loads)
        bare = measure(server, REFERENCE, loads, 0)
        E2E._stop(server.proc, data)
        server = None

        def ratio(value: float, reference: float) -> str:
            return f"{value:.2f} s = {value / reference:.2f}x the reference's {reference:.2f} s"

        print(f"\n== {held:,} cases, {shown.notebook}: time to {shown.what}, beside the reference page "
              f"({REFERENCE_DIR.name}/{REFERENCE.notebook}: polars, altair, ipywidgets, a few dozen widgets; "
              "served by the same server from its own preheated kernels, in the same run)")
        for n, item in enumerate(page.loads, 1):
            print(f"load {n}: {shown.what} visible {item.usable_s:5.2f} s  (first byte {item.first_byte_s:5.2f} s, "
                  f"whole page received {item.html_done_s:5.2f} s, then widgets drawn in "
                  f"{item.usable_s - item.html_done_s:5.2f} s; preheated kernel: {'yes' if item.preheated else 'NO'})")
        usable, bare_usable = page.median_usable, bare.median_usable
        print(f"browser, navigation -> {shown.what}: median {ratio(usable, bare_usable)} "
              f"(min {min(r.usable_s for r in page.loads):.2f} s, max {max(r.usable_s for r in page.loads):.2f} s)")
        for key, seconds in page.loads[-1].tabs.items():
            opened = f"{seconds:.2f} s" if seconds is not None else f"not shown within {tab_timeout_s:.0f} s"
            print(f"first opening of the {key} tab (load {len(page.loads)}): {opened}")
        print("server side alone (HTTP GET of the page, no browser): "
              + ", ".join(f"{r:.2f} s" for r in page.renders)
              + f"  (median {ratio(statistics.median(page.renders), statistics.median(bare.renders))})")
        print(f"shutting the page's kernel down afterwards (not part of the page): median "
              f"{statistics.median(page.shutdowns):.2f} s (reference {statistics.median(bare.shutdowns):.2f} s)")
        print("\nmemory (RSS):")
        served = {r.kernel_id for r in page.loads}
        for pid, role, mb, kernel in page.memory:
            note = " (served a page)" if kernel in served else " (preheated, in a pool)" if role == "kernel" else ""
            print(f"  {role:6} pid {pid:>7}: {mb:7.1f} MB{note}")
        kernels = [r.kernel_mb for r in page.loads if r.kernel_mb]
        bare_kernels = [r.kernel_mb for r in bare.loads if r.kernel_mb]
        if kernels and bare_kernels:
            print(f"  a page's kernel: largest {max(kernels):.0f} MB = {max(kernels) / max(bare_kernels):.2f}x the "
                  f"reference page's kernel ({max(bare_kernels):.0f} MB)")
        if page.churned is not None:
            left, waited, after = page.churned
            total = sum(mb for _, _, mb, _ in after)
            server_mb = sum(mb for _, role, mb, _ in after if role != "kernel")
            pooled = [mb for _, role, mb, _ in after if role == "kernel"]
            target = server_mb + sum(pooled)
            print(f"\nafter {churn_loads} page loads and closes: {left} kernels left ({waited:.0f} s after the last close); "
                  f"server and kernels {total:.0f} MB = {total / target:.2f}x the target "
                  f"(the server's {server_mb:.0f} MB + its {len(pooled)} pooled kernels, {sum(pooled):.0f} MB)")
    finally:
        if server is not None:
            E2E._stop(server.proc, data)
            print(f"server stopped; log: {log}" if keep else "server stopped")
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.dashboard", description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=10_000, help="demo cases to build (default 10000)")
    parser.add_argument("--loads", type=int, default=3, help="page loads to time (default 3)")
    parser.add_argument("--data", type=Path, help="data folder to reuse, or to build into (kept)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder and the server log")
    parser.add_argument("--tab-timeout", type=float, default=120,
                        help="on the last load, open each other tab and wait this long for it (0: skip)")
    parser.add_argument("--page", choices=sorted(PAGES), default="coordinator", help="the dashboard to time")
    parser.add_argument("--churn", type=int, default=20, help="page loads and closes before the memory is read (0: skip)")
    args = parser.parse_args(argv)
    os.chdir(ROOT)
    run(args.cases, args.loads, args.data, args.keep, args.tab_timeout, PAGES[args.page], args.churn)


if __name__ == "__main__":
    main()

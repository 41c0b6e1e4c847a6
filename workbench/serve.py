"""``workbench serve``: the dashboards in ``dashboards/`` through a locked-down, standalone Voila.

What the server is allowed to do is decided here, in two testable functions:
``build_command`` (the Voila options) and ``build_env`` (what the server and its kernels see).

- It listens on 127.0.0.1 only, on the port asked for (no silent fallback to another port,
  so the printed address is always right).
- Every page needs the access token. The token lives in ``<data>/voila-token`` (mode 0600)
  and reaches Voila as ``JUPYTER_TOKEN_FILE``, never on the command line, which every local
  user can read; ``--Voila.auto_token=True`` makes Voila invent a token rather than run
  without one should that file ever be missed.
- Pages show outputs only (``strip_sources``), never a traceback (``show_tracebacks``), and
  always in our ``brobygning`` template (no ``?template=``/``?theme=`` from the address bar),
  which fetches nothing from outside this server and greets the user in their language.
- A small pool of preheated kernels (two per dashboard, ``--pool-size``) has run the notebook's imports before anyone asks;
  ``dashboards/*.ipynb`` wait for the real request (``voila.utils.wait_for_request``)
  before doing any per-user work. Closing a page shuts its kernel down (its beacon carries the
  ``_xsrf`` cookie the page sets); a kernel whose page is gone otherwise is culled within 5 minutes.
- The data directory reaches the kernels as an absolute ``WORKBENCH_DATA`` (Voila runs a
  kernel in the notebook's folder, so a relative path would point somewhere else).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import webbrowser
from collections.abc import Mapping
from contextlib import closing
from importlib import metadata
from pathlib import Path
from types import FrameType
from typing import TextIO

import platformdirs

from workbench import config, i18n
from workbench.errors import InvalidInput, WorkbenchError
from workbench.i18n import t
from workbench.serving import KERNEL_SECRET_ENV, LOG_ENV

HOST = "127.0.0.1"
DEFAULT_PORT = 8866
TEMPLATE = "brobygning"
NOTEBOOK = "koordinator.ipynb"
LEAD_NOTEBOOK = "projektleder.ipynb"
TOKEN_FILE = "voila-token"
KERNEL_LOG = "dashboards.log"
MIN_VOILA = (0, 5, 6)
#: Preheated kernels kept ready per dashboard notebook (each holds about 150-450 MB): two, so that a
#: second page opened right after the first finds one ready too (``workbench serve --pool-size N``).
POOL_SIZE = 2
MAX_POOL_SIZE = 8
#: A kernel with no page connected for this long is shut down (seconds) ...
CULL_IDLE_TIMEOUT = 240
#: ... checked this often (seconds): a kernel whose page is gone (and whose "page closed" beacon was
#: lost) is culled within 5 minutes. Kernels with an open page, and the preheated pool, are never culled.
CULL_INTERVAL = 60
#: Seconds to wait for a cell's output after it has finished (Voila's default is 4).
IOPUB_TIMEOUT = 30

_TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{16,256}")


def package_dir() -> Path:
    """The installed ``workbench`` package folder."""
    return Path(__file__).resolve().parent


def jupyter_dir() -> Path:
    """The folder to put on ``JUPYTER_PATH``: it holds ``voila/templates/brobygning``."""
    return package_dir()


def dashboards_dir() -> Path:
    """``dashboards/`` beside the package: the project's source checkout (or editable install)."""
    return package_dir().parent / "dashboards"


def dashboard_url(port: int, token: str, notebook: str = NOTEBOOK) -> str:
    """The address that opens ``notebook`` with the token (the browser keeps a cookie after)."""
    return f"http://{HOST}:{port}/voila/render/{notebook}?token={token}"


def build_command(dashboards: Path, *, port: int = DEFAULT_PORT, python: str | None = None,
                  language: str | None = None, runtime: Path | None = None, pool_size: int = POOL_SIZE) -> list[str]:
    """The standalone Voila server for ``dashboards``: every option that makes it safe and quick.

    ``language`` (default: the language in force) chooses the loading text and ``<html lang>``.
    """
    lang = language or i18n.language()
    runtime = runtime or Path(tempfile.gettempdir())
    return [
        python or sys.executable, "-m", "workbench.serving.voila_app", str(Path(dashboards).resolve()),
        "--no-browser",
        f"--Voila.ip={HOST}",
        f"--Voila.port={int(port)}",
        "--Voila.port_retries=0",
        # Token from JUPYTER_TOKEN_FILE (see build_env); if that ever fails, a random one.
        "--Voila.auto_token=True",
        # Read no voila.json/voila.py from the working or user folders: this command is the
        # whole configuration (the folder below holds none).
        f"--Voila.config_file_paths={jupyter_dir() / 'voila'}",
        f"--VoilaConfiguration.template={TEMPLATE}",
        "--VoilaConfiguration.allow_template_override=NO",
        "--VoilaConfiguration.allow_theme_override=NO",
        "--VoilaConfiguration.strip_sources=True",
        "--VoilaConfiguration.show_tracebacks=False",
        "--VoilaConfiguration.preheat_kernel=True",
        f"--VoilaConfiguration.default_pool_size={check_pool_size(pool_size)}",
        # Incompatible with preheated kernels (Voila refuses to start with both).
        "--VoilaConfiguration.progressive_rendering=False",
        f"--VoilaConfiguration.resources=brobygning_loading={t('serve.loading', lang)}",
        "--VoilaConfiguration.resources=brobygning_progress="
        + t("serve.progress", lang, step="{step}", total="{total}"),
        f"--VoilaExporter.language_code={lang}",
        # What a page says when a cell fails (the traceback only goes to the server's log).
        f"--VoilaExecutor.cell_error_instruction={t('serve.cell_error', lang)}",
        f"--MappingKernelManager.cull_idle_timeout={CULL_IDLE_TIMEOUT}",
        f"--MappingKernelManager.cull_interval={CULL_INTERVAL}",
        "--MappingKernelManager.cull_connected=False",
        "--MappingKernelManager.cull_busy=False",
        # After a cell's reply, wait this long for its output before giving up on it. Voila's
        # 4 s default can drop the dashboard's own output on a busy machine (a page sends a
        # thousand widget messages).
        f"--VoilaExecutor.iopub_timeout={IOPUB_TIMEOUT}",
        # Connection files and kernel sockets in the private runtime folder (see build_env).
        f"--Voila.connection_dir_root={runtime}",
        # Kernels talk to the server over Unix sockets in Voila's private (0700) connection
        # folder instead of TCP ports on 127.0.0.1 (Linux only: macOS caps socket paths short).
        *(["--KernelManager.transport=ipc"] if sys.platform.startswith("linux") else []),
    ]


def default_log() -> Path:
    """The server-side log every page kernel writes its failures to, never the page.

    Outside the data folder (a traceback may quote a value, and an erasure must leave no copy of
    a citizen's data in that folder): the user's log folder, e.g. ``~/.local/state/brobygning-workbench/log``.
    """
    return Path(platformdirs.user_log_dir("brobygning-workbench", appauthor=False)) / KERNEL_LOG


def build_env(data: Path, *, base: Mapping[str, str] | None = None, runtime: Path | None = None,
              log: Path | None = None) -> dict[str, str]:
    """The environment of the Voila server, inherited by every kernel it starts.

    ``runtime`` is a private folder for Jupyter's runtime and connection files (default: a new
    one readable by this user only); ``log`` the kernels' log file (default: ``default_log()``).
    """
    root = Path(data).expanduser().resolve()
    env = dict(os.environ if base is None else base)
    env.pop("JUPYTER_TOKEN", None)  # it would win over the token file
    env.pop(config.USER_ENV, None)  # only `--user` chooses who the pages act as
    env["JUPYTER_TOKEN_FILE"] = str(root / TOKEN_FILE)
    env["WORKBENCH_DATA"] = str(root)
    env[LOG_ENV] = str(Path(log).resolve() if log else default_log())
    env[KERNEL_SECRET_ENV] = secrets.token_urlsafe(32)
    env["JUPYTER_RUNTIME_DIR"] = str(runtime or Path(tempfile.mkdtemp(prefix="workbench-runtime-")))
    env["JUPYTER_PATH"] = _prepend(str(jupyter_dir()), env.get("JUPYTER_PATH"))
    source = package_dir().parent
    if (source / "pyproject.toml").is_file():
        # A source checkout: kernels (started in dashboards/) import this very package.
        env["PYTHONPATH"] = _prepend(str(source), env.get("PYTHONPATH"))
    return env


def _prepend(entry: str, existing: str | None) -> str:
    parts = [p for p in (existing or "").split(os.pathsep) if p and p != entry]
    return os.pathsep.join([entry, *parts])


def read_token(root: Path) -> str | None:
    """The stored token, if the file is private to its owner and holds a usable token."""
    path = Path(root) / TOKEN_FILE
    try:
        if os.name == "posix" and path.stat().st_mode & 0o077:
            return None  # others could have read it: make a new one
        token = path.read_text("ascii")
    except (OSError, UnicodeDecodeError):
        return None
    return token if _TOKEN_PATTERN.fullmatch(token) else None


def write_token(root: Path, token: str) -> Path:
    """Store ``token`` in ``<root>/voila-token`` readable by the owner only (no newline: Voila reads it raw)."""
    path = Path(root) / TOKEN_FILE
    tmp = path.with_name(f".{TOKEN_FILE}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(token)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def check_pool_size(size: int) -> int:
    """The number of preheated kernels per dashboard: 1 to ``MAX_POOL_SIZE``."""
    if not 1 <= size <= MAX_POOL_SIZE:
        raise InvalidInput("serve.pool_size", field="pool_size", most=MAX_POOL_SIZE)
    return size


def check_token(token: str) -> str:
    """A token chosen on the command line must be long and URL-safe."""
    if not _TOKEN_PATTERN.fullmatch(token or ""):
        raise InvalidInput("serve.token_invalid", field="token")
    return token


def voila_version() -> tuple[int, ...] | None:
    """The installed Voila version, or None."""
    try:
        found = metadata.version("voila")
    except metadata.PackageNotFoundError:
        return None
    return tuple(int(part) for part in re.findall(r"\d+", found)[:3])


def _check_voila() -> None:
    found = voila_version()
    if found is None or found < MIN_VOILA:
        raise WorkbenchError("serve.voila_missing", minimum=".".join(map(str, MIN_VOILA)),
                             found=".".join(map(str, found)) if found else "-")


def _check_port(port: int) -> None:
    if not 1 <= port <= 65535:
        raise InvalidInput("serve.port_invalid", field="port")
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as probe:
        if os.name == "posix":
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as tornado does
        try:
            probe.bind((HOST, port))
        except OSError as exc:
            raise WorkbenchError("serve.port_busy", port=port, detail=exc.strerror or str(exc)) from None


def wait_until_listening(port: int, timeout: float = 60.0, alive: subprocess.Popen[bytes] | None = None) -> bool:
    """True once something accepts connections on 127.0.0.1:``port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if alive is not None and alive.poll() is not None:
            return False
        try:
            with socket.create_connection((HOST, port), timeout=1):
                return True
        except OSError:
            time.sleep(0.2)
    return False


def _announce(root: Path, url: str, lead_url: str, port: int, proc: subprocess.Popen[bytes], token_path: Path,
              open_browser: bool, out: TextIO) -> None:
    """Once the server answers: print where it is (and open the browser when asked)."""
    if not wait_until_listening(port, timeout=300, alive=proc):
        return
    print(t("serve.url", url=url), file=out)
    print(t("serve.lead_url", url=lead_url), file=out)
    print(t("serve.token_file", path=str(token_path)), file=out)
    print(t("serve.stop_hint"), file=out, flush=True)
    if open_browser:
        # Through a private redirect file: keeps the token off the browser's command line.
        page = root / "voila-open.html"
        fd = os.open(page, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(f'<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0;url={url}">'
                         f'<a href="{url}">{url}</a>')
        webbrowser.open(page.as_uri(), new=2)


def serve(data: str | os.PathLike[str] | None = None, *, port: int = DEFAULT_PORT, token: str | None = None,
          open_browser: bool = False, out: TextIO | None = None, log: str | os.PathLike[str] | None = None,
          user: str | None = None, pool_size: int = POOL_SIZE) -> int:
    """Run the dashboard server until it is stopped; returns its exit code.

    ``user``: the id (in ``users.toml``) every page acts as; its roles decide which dashboard it
    may use. Without one: ``$WORKBENCH_USER``, else the only user; never a fallback identity.
    """
    import workbench

    out = out or sys.stdout
    _check_voila()
    check_pool_size(pool_size)
    if token is not None:
        check_token(token)
    root = config.data_dir(data)
    user = workbench.open(root, user=user).user.id  # an unusable data directory, an unknown or unchosen user fail here
    dashboards = dashboards_dir()
    if not dashboards.is_dir():
        raise WorkbenchError("serve.no_dashboards", path=str(dashboards))
    _check_port(port)
    token = token or read_token(root) or secrets.token_urlsafe(32)
    token_path = write_token(root, token)

    runtime = Path(tempfile.mkdtemp(prefix="workbench-runtime-"))  # 0700: connection files stay ours
    env = build_env(root, runtime=runtime, log=Path(log) if log else None)
    env[config.USER_ENV] = user
    print(t("serve.user", user=user), file=out)
    print(t("serve.data_dir", path=str(root)), file=out)
    print(t("serve.log_file", path=env[LOG_ENV]), file=out, flush=True)
    proc = subprocess.Popen(build_command(dashboards, port=port, runtime=runtime, pool_size=pool_size), env=env,
                            cwd=dashboards)

    def stop(_signum: int, _frame: FrameType | None) -> None:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # Voila shuts its kernels down on SIGTERM

    handled = [s for s in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)) if s is not None]
    previous = {sig: signal.signal(sig, stop) for sig in handled}
    try:
        urls = (dashboard_url(port, token), dashboard_url(port, token, LEAD_NOTEBOOK))
        threading.Thread(target=_announce, daemon=True,
                         args=(root, *urls, port, proc, token_path, open_browser, out)).start()
        code = proc.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(runtime, ignore_errors=True)
    return 128 - code if code < 0 else code

"""``workbench serve``: the one Jupyter server (JupyterLab, the dashboards through Voila, the workbench
extension with its landing page and API) for one user, locked down.

What the server is allowed to do is decided here, in two testable functions:
``build_command`` (the server's options) and ``build_env`` (what the server and its kernels see).

- It listens on 127.0.0.1 only, on the port asked for (no silent fallback to another port,
  so the printed address is always right).
- Every page needs the access token. The token lives in ``<data>/voila-token`` (mode 0600)
  and reaches the server as ``JUPYTER_TOKEN_FILE``, never on the command line, which every local
  user can read.
- The user (``--user``) decides what the server offers: their landing page at ``/workbench/``
  (the root address leads there); JupyterLab on ``notebooks/`` for the lab, research and admin
  roles; for a coordinator or a lead only their dashboard, whose kernel runs no code sent from the
  browser (``workbench.serving.authorizer``).
- Dashboard pages show outputs only, never a traceback, always in our ``brobygning`` template; a
  pool of preheated kernels (two per dashboard, ``--pool-size``) has run the notebook's imports
  before anyone asks (``workbench.serving.pool``). Closing a page shuts its kernel down; a kernel
  whose page is gone otherwise is culled within 5 minutes.
- The data directory reaches the kernels as an absolute ``WORKBENCH_DATA``.
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
from pathlib import Path
from types import FrameType
from typing import TextIO

from workbench import config
from workbench.errors import InvalidInput, WorkbenchError
from workbench.i18n import t
from workbench.serving import (
    KERNEL_SECRET_ENV,
    LOG_ENV,
    dashboards_dir,
    default_log,
    jupyter_dir,
    notebooks_dir,
    package_dir,
    prepend_path,
)
from workbench.serving.pool import POOL_SIZE, check_pool_size

HOST = "127.0.0.1"
DEFAULT_PORT = 8866
NOTEBOOK = "koordinator.ipynb"
LEAD_NOTEBOOK = "projektleder.ipynb"
TOKEN_FILE = "voila-token"
_TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{16,256}")


def landing_url(port: int, token: str) -> str:
    """The address of the landing page with the token (the browser keeps a cookie after)."""
    return f"http://{HOST}:{port}/workbench/?token={token}"


def dashboard_url(port: int, token: str, notebook: str = NOTEBOOK) -> str:
    """The address that opens ``notebook`` with the token."""
    return f"http://{HOST}:{port}/voila/render/{notebook}?token={token}"


def build_command(*, port: int = DEFAULT_PORT, python: str | None = None, data: Path | None = None,
                  pool_size: int = POOL_SIZE, as_root: bool | None = None, workdir: Path | None = None) -> list[str]:
    """The one Jupyter server: every option that makes it safe and quick (the rest is in ``jupyter-config``)."""
    as_root = (os.name == "posix" and os.geteuid() == 0) if as_root is None else as_root
    return [
        python or sys.executable, "-m", "jupyter_server",
        "--no-browser",
        f"--ServerApp.ip={HOST}",
        f"--ServerApp.port={int(port)}",
        "--ServerApp.port_retries=0",
        # JupyterLab opens on the lab and research notebooks (or on another folder, which gets its own
        # copies of them in brobygning/); the dashboards are read from dashboards/ either way.
        f"--ServerApp.root_dir={Path(workdir).resolve() if workdir else notebooks_dir()}",
        *([f"--WorkbenchApp.data={data}"] if data is not None else []),
        f"--WorkbenchApp.pool_size={check_pool_size(pool_size)}",
        # Kernels talk to the server over Unix sockets in the private runtime folder (see build_env)
        # instead of TCP ports on 127.0.0.1 (Linux only: macOS caps socket paths short).
        *(["--KernelManager.transport=ipc"] if sys.platform.startswith("linux") else []),
        # Jupyter refuses to run as root unless told (a container's usual user; CI runs as root).
        *(["--allow-root"] if as_root else []),
    ]


def build_env(data: Path, *, base: Mapping[str, str] | None = None, runtime: Path | None = None,
              log: Path | None = None) -> dict[str, str]:
    """The environment of the server, inherited by every kernel it starts.

    ``runtime`` is a private folder for Jupyter's runtime and connection files (default: a new
    one readable by this user only); ``log`` the kernels' log file (default: ``default_log()``).
    """
    root = Path(data).expanduser().resolve()
    env = dict(os.environ if base is None else base)
    env.pop("JUPYTER_TOKEN", None)  # it would win over the token file
    env.pop(config.USER_ENV, None)  # only `--user` chooses who the pages act as
    env.pop("JUPYTERHUB_USER", None)
    env["JUPYTER_TOKEN_FILE"] = str(root / TOKEN_FILE)
    env["WORKBENCH_DATA"] = str(root)
    env[LOG_ENV] = str(Path(log).resolve() if log else default_log())
    env[KERNEL_SECRET_ENV] = secrets.token_urlsafe(32)
    env["JUPYTER_RUNTIME_DIR"] = str(runtime or Path(tempfile.mkdtemp(prefix="workbench-runtime-")))
    env["JUPYTER_PATH"] = prepend_path(str(jupyter_dir()), env.get("JUPYTER_PATH"))
    source = package_dir().parent
    if (source / "pyproject.toml").is_file():
        # A source checkout: kernels import this very package.
        env["PYTHONPATH"] = prepend_path(str(source), env.get("PYTHONPATH"))
    return env


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


def check_token(token: str) -> str:
    """A token chosen on the command line must be long and URL-safe."""
    if not _TOKEN_PATTERN.fullmatch(token or ""):
        raise InvalidInput("serve.token_invalid", field="token")
    return token


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


def _announce(root: Path, url: str, port: int, proc: subprocess.Popen[bytes], token_path: Path,
              open_browser: bool, out: TextIO) -> None:
    """Once the server answers: print where it is (and open the browser when asked)."""
    if not wait_until_listening(port, timeout=300, alive=proc):
        return
    print(t("serve.url", url=url), file=out)
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
          user: str | None = None, pool_size: int = POOL_SIZE, workdir: str | os.PathLike[str] | None = None) -> int:
    """Run the dashboard server until it is stopped; returns its exit code.

    ``user``: the id (in ``users.toml``) every page acts as; its roles decide which dashboard it
    may use. Without one: ``$WORKBENCH_USER``, else the only user; never a fallback identity.
    """
    import workbench

    out = out or sys.stdout
    check_pool_size(pool_size)
    if token is not None:
        check_token(token)
    root = config.data_dir(data)
    user = workbench.open(root, user=user).user.id  # an unusable data directory, an unknown or unchosen user fail here
    dashboards = dashboards_dir()
    if not dashboards.is_dir():
        raise WorkbenchError("serve.no_dashboards", path=str(dashboards))
    folder = Path(workdir).expanduser().resolve() if workdir else notebooks_dir()
    if not folder.is_dir():
        raise WorkbenchError("serve.no_workdir", path=str(folder))
    _check_port(port)
    token = token or read_token(root) or secrets.token_urlsafe(32)
    token_path = write_token(root, token)

    runtime = Path(tempfile.mkdtemp(prefix="workbench-runtime-"))  # 0700: connection files stay ours
    env = build_env(root, runtime=runtime, log=Path(log) if log else None)
    env[config.USER_ENV] = user
    print(t("serve.user", user=user), file=out)
    print(t("serve.data_dir", path=str(root)), file=out)
    print(t("serve.log_file", path=env[LOG_ENV]), file=out, flush=True)
    # umask 077: whatever the server and its kernels write (runtime files, one of them holding the token) is the owner's alone
    proc = subprocess.Popen(build_command(port=port, data=root, pool_size=pool_size, workdir=folder), env=env, cwd=folder,
                            umask=0o077)

    def stop(_signum: int, _frame: FrameType | None) -> None:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # the server shuts its kernels down on SIGTERM

    handled = [s for s in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)) if s is not None]
    previous = {sig: signal.signal(sig, stop) for sig in handled}
    try:
        threading.Thread(target=_announce, daemon=True,
                         args=(root, landing_url(port, token), port, proc, token_path, open_browser, out)).start()
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

"""What a dashboard's kernel does before it builds a page: keep every failure off the page.

A page receives everything its kernel writes to stdout or stderr, and every traceback IPython
shows (Voila forwards the kernel's output channel to the browser). ``harden`` sends all of it to
the server-side log file instead, so a failure in a callback, a forged widget value from the
browser, or a warning from a library shows up in the log and never in the page:

- the root logger writes to the log file (and nowhere else);
- ``sys.stderr`` and file descriptor 2 are the log file (ipykernel forwards both to the page);
- IPython's traceback display logs the traceback instead of publishing it;
- warnings are logged.

The log file is ``$WORKBENCH_LOG`` (``workbench serve`` sets it to ``<data>/logs/dashboards.log``),
readable by its owner only.

``wait_for_request`` replaces Voila's: a preheated kernel waits for its page request on Voila's
request-info socket, presenting the server's kernel secret (nobody else may listen there).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import sys
import threading
from pathlib import Path
from typing import Any, TextIO

from workbench.serving import KERNEL_SECRET_ENV, KERNEL_SECRET_HEADER, LOG_ENV

LOG_FORMAT = "%(asctime)s %(levelname)s [kernel %(process)d] %(name)s: %(message)s"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
log = logging.getLogger("workbench.kernel")
_hardened: list[Path] = []


class _LogStream:
    """A text stream that writes whole lines to a logger (what used to go to stderr)."""

    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger
        self._pending = ""

    def write(self, text: str) -> int:
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            if line.strip():
                self._logger.warning("%s", _ANSI.sub("", line))
        return len(text)

    def flush(self) -> None:
        if self._pending.strip():
            self._logger.warning("%s", _ANSI.sub("", self._pending))
        self._pending = ""

    def isatty(self) -> bool:
        return False

    @property
    def encoding(self) -> str:
        return "utf-8"


def log_path() -> Path | None:
    """The log file named by ``$WORKBENCH_LOG``, if any."""
    value = os.environ.get(LOG_ENV, "").strip()
    return Path(value) if value else None


def _private_file(path: Path) -> int:
    """Open ``path`` for appending, created readable by its owner only; returns the descriptor."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)


def harden(path: Path | None = None) -> Path | None:
    """Route this process's logging, stderr and tracebacks to the log file (once per process).

    Returns the log file, or None when there is none to use (outside ``workbench serve``:
    then nothing changes, so a notebook in JupyterLab shows its errors as usual).
    """
    path = path or log_path()
    if path is None:
        return None
    if _hardened:
        return _hardened[0]
    fd = _private_file(path)
    stream: TextIO = os.fdopen(fd, "a", encoding="utf-8", buffering=1)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    logging.captureWarnings(True)
    os.dup2(fd, 2)  # C libraries and anything else writing to fd 2 (ipykernel forwards it to the page)
    sys.stderr = _LogStream(logging.getLogger("workbench.stderr"))
    _quiet_tracebacks()
    _hardened.append(path)
    return path


def _quiet_tracebacks() -> None:
    """Make IPython log a traceback instead of publishing it to the page."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipykernel
        return
    shell = get_ipython()
    if shell is None:
        return

    def to_log(etype: Any, evalue: Any, stb: list[str]) -> None:
        text = _ANSI.sub("", "\n".join(stb))
        logging.getLogger("workbench.kernel").error("uncaught %s in the page's kernel:\n%s",
                                                   getattr(etype, "__name__", etype), text)

    shell._showtraceback = to_log


async def _request_info(url: str, secret: str) -> str | None:
    import websockets

    try:
        async with websockets.connect(url, open_timeout=5, proxy=None,
                                      additional_headers={KERNEL_SECRET_HEADER: secret}) as socket:
            message = await socket.recv()
    except (OSError, TimeoutError, websockets.exceptions.WebSocketException) as exc:
        log.error("could not read the page request from the server: %s", exc)
        return None
    return message if isinstance(message, str) else message.decode("utf-8")


def wait_for_request() -> None:
    """Wait (in a preheated kernel) until the page is requested, then take its request info.

    Returns at once outside a preheated Voila kernel. Only the names of the query's parameters
    are logged, never their values.
    """
    if os.environ.get("VOILA_PREHEAT", "False") == "False":
        return
    base = os.environ.get("VOILA_WS_BASE_URL") or os.environ.get("VOILA_SERVER_URL", "/")
    url = (f"{os.environ.get('VOILA_WS_PROTOCOL', 'ws')}://{os.environ.get('VOILA_APP_IP', '127.0.0.1')}:"
           f"{os.environ.get('VOILA_APP_PORT', '8866')}{base}voila/query/{os.environ.get('VOILA_KERNEL_ID', '')}")
    secret = os.environ.get(KERNEL_SECRET_ENV, "")
    found: list[str | None] = []
    reader = threading.Thread(target=lambda: found.append(asyncio.run(_request_info(url, secret))))
    reader.start()
    reader.join()
    if not found or found[0] is None:
        return
    info = json.loads(found[0])
    for key, value in info.items():
        os.environ[key] = str(value)
    names = sorted({part.split("=", 1)[0] for part in str(info.get("QUERY_STRING", "")).split("&") if part})
    log.info("page request for %s received (query parameters: %s)", info.get("SCRIPT_NAME", "?"),
             ", ".join(names) or "none")

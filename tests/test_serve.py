"""``workbench serve`` without a browser: the server's command, its environment, token and page options."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest
from traitlets.config import Config

import workbench
from workbench import serve, serving
from workbench.errors import InvalidInput, WorkbenchError
from workbench.service import users
from workbench.serving import dashboards

ROOT = Path(__file__).resolve().parents[1]


def _options(command: list[str]) -> dict[str, list[str]]:
    """``--Name=value`` options as name -> values (a repeated option keeps every value)."""
    found: dict[str, list[str]] = {}
    for arg in command:
        if arg.startswith("--") and "=" in arg:
            name, value = arg[2:].split("=", 1)
            found.setdefault(name, []).append(value)
    return found


def test_command_runs_one_jupyter_server_on_localhost_only() -> None:
    command = serve.build_command(port=8999, as_root=False)
    assert command[:3] == [sys.executable, "-m", "jupyter_server"]
    options = _options(command)
    assert options["ServerApp.ip"] == ["127.0.0.1"]
    assert options["ServerApp.port"] == ["8999"]
    assert options["ServerApp.port_retries"] == ["0"]  # never silently another port than printed
    assert "--no-browser" in command
    assert "--allow-root" not in command
    assert "--allow-root" in serve.build_command(as_root=True)  # Jupyter refuses root otherwise (CI, containers)
    # JupyterLab opens on the notebooks; the dashboards are served from their own folder
    assert options["ServerApp.root_dir"] == [str(serving.notebooks_dir())]
    if sys.platform.startswith("linux"):
        assert options["KernelManager.transport"] == ["ipc"]


def test_the_install_turns_the_workbench_on_and_voilas_own_pages_off() -> None:
    assert _options(serve.build_command(data=Path("/srv/data")))["WorkbenchApp.data"] == ["/srv/data"]
    installed = json.loads((ROOT / "jupyter-config" / "jupyter_server_config.d" / "workbench.json").read_text())
    assert installed == {"ServerApp": {"jpserver_extensions": {
        "workbench": True, "voila.server_extension": False, "jupyter_server_proxy": False}}}


def test_pages_have_the_secure_options() -> None:
    conf = dashboards.voila_configuration(None, "da", 2)
    assert conf.strip_sources is True
    assert conf.show_tracebacks is False
    assert conf.template == "brobygning"
    assert conf.allow_template_override == "NO"
    assert conf.allow_theme_override == "NO"
    assert conf.preheat_kernel is True
    assert conf.progressive_rendering is False  # incompatible with preheating
    assert conf.prelaunch_hook is None  # incompatible with preheating
    server_config = Config()
    dashboards.configure(server_config, "da")
    assert "Traceback" not in server_config.VoilaExecutor.cell_error_instruction
    assert server_config.VoilaExecutor.iopub_timeout >= 4


def test_pool_size_is_checked_and_kernels_are_culled_within_five_minutes() -> None:
    from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
    from traitlets import TraitError

    from workbench.serving.extension import WorkbenchApp

    assert _options(serve.build_command())["WorkbenchApp.pool_size"] == ["2"]  # a second page finds one ready too
    assert _options(serve.build_command(pool_size=3))["WorkbenchApp.pool_size"] == ["3"]
    for bad in (0, -1, 9):
        with pytest.raises(InvalidInput):
            serve.build_command(pool_size=bad)
        with pytest.raises(TraitError, match="1 til 8"):
            WorkbenchApp(pool_size=bad)
    kernels = AsyncMappingKernelManager()
    WorkbenchApp(cull_after=300)._cull(kernels)
    assert 0 < kernels.cull_interval < kernels.cull_idle_timeout
    assert kernels.cull_idle_timeout + kernels.cull_interval <= 300  # a kernel whose page is gone goes within 5 minutes
    assert kernels.cull_connected is False  # an open page keeps its kernel
    configured = AsyncMappingKernelManager(cull_idle_timeout=3600)
    WorkbenchApp(cull_after=300)._cull(configured)
    assert configured.cull_idle_timeout == 3600  # the server's own setting wins


def test_token_never_appears_on_the_command_line(tmp_path: Path) -> None:
    token = "a-secret-token-0123456789"
    serve.write_token(tmp_path, token)
    command = serve.build_command()
    assert not any(token in arg for arg in command)
    assert not any(arg.startswith(("--ServerApp.token", "--IdentityProvider.token", "--token")) for arg in command)
    env = serve.build_env(tmp_path, base={})
    assert Path(env["JUPYTER_TOKEN_FILE"]).read_text("ascii") == token


def test_loading_text_follows_the_language() -> None:
    danish = dashboards.voila_configuration(None, "da", 2)
    assert danish.resources == {"brobygning_loading": "Henter dashboardet …",
                                "brobygning_progress": "Henter dashboardet … (trin {step} af {total})"}
    english = dashboards.voila_configuration(None, "en", 2)
    assert english.resources["brobygning_loading"] == "Loading the dashboard …"
    for lang in ("da", "en"):
        server_config = Config()
        dashboards.configure(server_config, lang)
        assert server_config.VoilaExporter.language_code == lang


def test_env_passes_an_absolute_data_path_and_finds_the_template(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    env = serve.build_env(Path("data"), base={"JUPYTER_PATH": "/elsewhere", "JUPYTER_TOKEN": "leaky", "PATH": "/bin"})
    assert env["WORKBENCH_DATA"] == str(tmp_path / "data")
    assert Path(env["WORKBENCH_DATA"]).is_absolute()
    assert env["JUPYTER_TOKEN_FILE"] == str(tmp_path / "data" / "voila-token")
    assert "JUPYTER_TOKEN" not in env  # it would win over the token file
    assert env["PATH"] == "/bin"
    first, *rest = env["JUPYTER_PATH"].split(os.pathsep)
    assert rest == ["/elsewhere"]
    assert (Path(first) / "voila" / "templates" / "brobygning" / "index.html.j2").is_file()
    conf = json.loads((Path(first) / "voila" / "templates" / "brobygning" / "conf.json").read_text())
    assert conf["base_template"] == "lab"


def test_voila_finds_the_template_through_jupyter_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from voila.paths import collect_template_paths

    monkeypatch.setenv("JUPYTER_PATH", serve.build_env(tmp_path, base={})["JUPYTER_PATH"])
    paths = collect_template_paths(["voila", "nbconvert"], "brobygning", prune=True)
    assert paths[0] == str(serving.jupyter_dir() / "voila" / "templates" / "brobygning")
    assert any(p.endswith(os.path.join("voila", "templates", "lab")) for p in paths)


def test_template_links_nothing_outside_the_server() -> None:
    import re

    text = (serving.jupyter_dir() / "voila" / "templates" / "brobygning" / "index.html.j2").read_text("utf-8")
    assert "extends 'lab/index.html.j2'" in text
    rendered_part = re.sub(r"\{#.*?#\}", "", text, flags=re.DOTALL)  # Jinja comments are never sent
    assert "https://" not in rendered_part and "cdn." not in rendered_part
    assert "super.super()" in rendered_part  # skips lab's block with the Font Awesome links


def test_dashboards_folder_holds_the_coordinator_notebook() -> None:
    notebook = json.loads((serving.dashboards_dir() / serve.NOTEBOOK).read_text("utf-8"))
    code = ["".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code"]
    assert all(c["cell_type"] == "code" for c in notebook["cells"])  # markdown would show on the page
    assert "import workbench.ui.signin" in code[0]
    assert code[-1].index("wait_for_request()") < code[-1].index("coordinator_app()")
    assert code[-1].rstrip().endswith("coordinator_app()")
    assert all(not c.get("outputs") for c in notebook["cells"])


def test_wait_for_request_returns_at_once_outside_a_preheated_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    from voila.utils import wait_for_request

    monkeypatch.delenv("VOILA_PREHEAT", raising=False)
    assert wait_for_request() is None  # JupyterLab: no Voila, no wait
    monkeypatch.setenv("VOILA_PREHEAT", "False")
    assert wait_for_request() is None  # Voila without a preheated kernel


def test_token_file_is_private_and_reused(tmp_path: Path) -> None:
    path = serve.write_token(tmp_path, "Tok_en-0123456789abcdef")
    assert path == tmp_path / "voila-token"
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert serve.read_token(tmp_path) == "Tok_en-0123456789abcdef"
        path.chmod(0o644)  # others may have read it: not reused
        assert serve.read_token(tmp_path) is None
    assert not list(tmp_path.glob(".voila-token*"))


@pytest.mark.parametrize("token", ["", "short", "has space in it 0123", "x" * 15, "æøå-0123456789abcdef"])
def test_weak_or_unsafe_tokens_are_refused(token: str) -> None:
    with pytest.raises(InvalidInput):
        serve.check_token(token)


def test_dashboard_url_carries_the_token() -> None:
    assert serve.dashboard_url(8866, "abc") == "http://127.0.0.1:8866/voila/render/koordinator.ipynb?token=abc"


@pytest.fixture
def one_user(tmp_path: Path) -> Path:
    """A data folder whose only user is a coordinator (``serve`` acts as them without ``--user``)."""
    data = tmp_path / "data"
    workbench.init(data)
    users.add(data, users.make_user(id="kim", name="Koordinator Kim", role="coordinator", sites=("ODE",)))
    return data


def test_serve_refuses_a_bad_port_before_starting(one_user: Path) -> None:
    with pytest.raises(InvalidInput):
        serve.serve(one_user, port=0)


def test_serve_without_a_user_when_several_could_be_meant_says_how_to_choose(
        one_user: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WORKBENCH_USER", raising=False)
    users.add(one_user, users.make_user(id="pia", name="Projektleder Pia", role="lead"))
    with pytest.raises(WorkbenchError) as refused:
        serve.serve(one_user, port=0)
    assert "kim, pia" in refused.value.message and "--user" in refused.value.message


def test_serve_refuses_a_busy_port(one_user: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(WorkbenchError) as refused:
            serve.serve(one_user, port=taken.getsockname()[1], token="t" * 20)
    assert refused.value.key == "serve.port_busy"


def test_make_demo_serves_as_the_demo_coordinator_unless_told_otherwise() -> None:
    import subprocess

    def served_as(*args: str) -> list[str]:
        env = {k: v for k, v in os.environ.items() if k != "AS"}
        printed = subprocess.run(["make", "-n", "demo", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                                 timeout=60, check=True).stdout
        return [line.split("--user ", 1)[1].strip() for line in printed.splitlines() if " serve " in line]

    assert served_as() == ["demo.koordinator"]  # not make's built-in AS ("as", the assembler)
    assert served_as("AS=demo.projektleder") == ["demo.projektleder"]

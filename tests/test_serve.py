"""``workbench serve`` without a browser: the Voila command, its environment, token and demo config."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

import workbench
from workbench import serve
from workbench.errors import InvalidInput, WorkbenchError
from workbench.service import users

DASHBOARDS = Path(__file__).resolve().parents[1] / "dashboards"


def _options(command: list[str]) -> dict[str, list[str]]:
    """``--Name=value`` options as name -> values (a repeated option keeps every value)."""
    found: dict[str, list[str]] = {}
    for arg in command:
        if arg.startswith("--") and "=" in arg:
            name, value = arg[2:].split("=", 1)
            found.setdefault(name, []).append(value)
    return found


def test_command_runs_voila_on_the_dashboards_folder_on_localhost_only() -> None:
    command = serve.build_command(DASHBOARDS, port=8999)
    assert command[:4] == [sys.executable, "-m", "workbench.serving.voila_app", str(DASHBOARDS.resolve())]
    options = _options(command)
    assert options["Voila.ip"] == ["127.0.0.1"]
    assert options["Voila.port"] == ["8999"]
    assert options["Voila.port_retries"] == ["0"]  # never silently another port than printed
    assert "--no-browser" in command


def test_command_has_the_secure_options() -> None:
    options = _options(serve.build_command(DASHBOARDS))
    assert options["VoilaConfiguration.strip_sources"] == ["True"]
    assert options["VoilaConfiguration.show_tracebacks"] == ["False"]
    assert "Traceback" not in options["VoilaExecutor.cell_error_instruction"][0]
    assert options["Voila.auto_token"] == ["True"]  # never a server without a token
    assert options["VoilaConfiguration.template"] == ["brobygning"]
    assert options["VoilaConfiguration.allow_template_override"] == ["NO"]
    assert options["VoilaConfiguration.allow_theme_override"] == ["NO"]
    config_dir = serve.jupyter_dir() / "voila"
    assert options["Voila.config_file_paths"] == [str(config_dir)]  # no stray voila.json/.py is read ...
    assert not any((config_dir / name).exists() for name in ("voila.json", "voila.py"))  # ... and none is here
    assert options["VoilaExecutor.iopub_timeout"] and int(options["VoilaExecutor.iopub_timeout"][0]) >= 4
    if sys.platform.startswith("linux"):
        assert options["KernelManager.transport"] == ["ipc"]


def test_command_preheats_kernels_and_culls_idle_ones() -> None:
    options = _options(serve.build_command(DASHBOARDS))
    assert options["VoilaConfiguration.preheat_kernel"] == ["True"]
    assert int(options["VoilaConfiguration.default_pool_size"][0]) == 2  # a second page finds one ready too
    assert int(_options(serve.build_command(DASHBOARDS, pool_size=3))["VoilaConfiguration.default_pool_size"][0]) == 3
    for bad in (0, -1, 9):
        with pytest.raises(InvalidInput):
            serve.build_command(DASHBOARDS, pool_size=bad)
    assert options["VoilaConfiguration.progressive_rendering"] == ["False"]  # incompatible with preheating
    assert not any("prelaunch_hook" in name for name in options)  # incompatible with preheating
    assert 0 < int(options["MappingKernelManager.cull_interval"][0]) < int(
        options["MappingKernelManager.cull_idle_timeout"][0])
    assert options["MappingKernelManager.cull_connected"] == ["False"]
    # a kernel whose page is gone is culled within 5 minutes
    assert int(options["MappingKernelManager.cull_idle_timeout"][0]) + int(
        options["MappingKernelManager.cull_interval"][0]) <= 300


def test_token_never_appears_on_the_command_line(tmp_path: Path) -> None:
    token = "a-secret-token-0123456789"
    serve.write_token(tmp_path, token)
    command = serve.build_command(DASHBOARDS)
    assert not any(token in arg for arg in command)
    assert not any(arg.startswith(("--Voila.token", "--token")) for arg in command)
    env = serve.build_env(tmp_path, base={})
    assert Path(env["JUPYTER_TOKEN_FILE"]).read_text("ascii") == token


def test_loading_text_follows_the_language() -> None:
    danish = _options(serve.build_command(DASHBOARDS, language="da"))
    assert danish["VoilaConfiguration.resources"] == [
        "brobygning_loading=Henter dashboardet …",
        "brobygning_progress=Henter dashboardet … (trin {step} af {total})",
    ]
    assert danish["VoilaExporter.language_code"] == ["da"]
    english = _options(serve.build_command(DASHBOARDS, language="en"))
    assert english["VoilaConfiguration.resources"][0] == "brobygning_loading=Loading the dashboard …"
    assert english["VoilaExporter.language_code"] == ["en"]


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
    assert paths[0] == str(serve.jupyter_dir() / "voila" / "templates" / "brobygning")
    assert any(p.endswith(os.path.join("voila", "templates", "lab")) for p in paths)


def test_template_links_nothing_outside_the_server() -> None:
    import re

    text = (serve.jupyter_dir() / "voila" / "templates" / "brobygning" / "index.html.j2").read_text("utf-8")
    assert "extends 'lab/index.html.j2'" in text
    rendered_part = re.sub(r"\{#.*?#\}", "", text, flags=re.DOTALL)  # Jinja comments are never sent
    assert "https://" not in rendered_part and "cdn." not in rendered_part
    assert "super.super()" in rendered_part  # skips lab's block with the Font Awesome links


def test_dashboards_folder_holds_the_coordinator_notebook() -> None:
    notebook = json.loads((serve.dashboards_dir() / serve.NOTEBOOK).read_text("utf-8"))
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

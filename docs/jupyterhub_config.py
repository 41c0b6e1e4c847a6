"""JupyterHub for the five centres: one single-user server per person, the workbench extension in each.

Read with ``jupyterhub -f docs/jupyterhub_config.py`` (docs/jupyterhub.md explains every line), or
loaded by your own config with ``load_subconfig``, as tests/e2e/test_jupyterhub.py does. Set:

- ``WORKBENCH_HOME``: the workbench checkout whose ``.venv`` ``make demo`` or ``make test`` built;
- ``WORKBENCH_DATA``: the one data folder every server shares (the store's cross-process lock
  keeps their writes apart);
- ``WORKBENCH_HUB_GROUPS=1``: roles and sites come from each person's hub groups
  (``workbench-coordinator``, ``workbench-site-ODE``, ...) instead of ``users.toml``.

Authentication and the spawner are the deployment's own choice (OAuth or LDAP, and one system
user per person); see docs/jupyterhub.md.
"""

import os
from pathlib import Path

c = get_config()  # noqa: F821 - JupyterHub's config loader provides it

WORKBENCH = Path(os.environ.get("WORKBENCH_HOME", "/opt/brobygning-workbench"))
DATA = os.environ.get("WORKBENCH_DATA", "/srv/brobygning/data")
VENV_BIN = WORKBENCH / ".venv" / "bin"

# Every person's server is a Jupyter server from the workbench's environment: it loads the workbench
# extension, which serves their landing page, their dashboard from preheated kernels and JupyterLab.
c.Spawner.cmd = [str(VENV_BIN / "jupyterhub-singleuser")]
c.Spawner.default_url = "/workbench/"
c.Spawner.environment = {"WORKBENCH_DATA": DATA, "PATH": f"{VENV_BIN}:/usr/local/bin:/usr/bin:/bin"}
c.Spawner.args = [f"--WorkbenchApp.hub_groups={os.environ.get('WORKBENCH_HUB_GROUPS', '') == '1'}"]
# A coordinator's page starts in a second or two; the server itself needs a few seconds.
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 60

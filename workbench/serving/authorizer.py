"""What the server lets its user do, by their workbench roles (``ServerApp.authorizer_class``).

A Jupyter server normally lets its user do anything: run code, open a terminal, read and write
files. That is right for the lab, research and admin roles, who write code on the extract. A
coordinator or a project lead works only through their dashboard and the API: their server may
run the dashboard's kernel for them, but runs no code they send, opens no terminal and shows no
file (each of those would bypass the service's role checks). So for them:

- the only Jupyter resources are a kernel's state and its websocket (what a dashboard page uses);
- their kernels accept only widget messages (``LIMITED_MESSAGES``), never an ``execute_request``.

The workbench extension decides which of the two applies when the server starts
(``settings["workbench_runs_code"]``); until it has, nothing is allowed.
"""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.authorizer import Authorizer
from jupyter_server.auth.identity import User as JupyterUser

from workbench.service.users import Role

CODE_ROLES = frozenset({Role.lab, Role.researcher, Role.admin})
"""The roles whose work is code (notebooks in JupyterLab)."""
LIMITED_MESSAGES = ["comm_open", "comm_close", "comm_msg", "comm_info_request", "kernel_info_request", "shutdown_request"]
"""The kernel messages a dashboard page sends (the kernel's manager refuses any other from the browser)."""
_DASHBOARD_ONLY = frozenset({("kernels", "read"), ("kernels", "execute")})
"""What a dashboard page needs of Jupyter's own API: its kernel's state and websocket."""


def runs_code(roles: frozenset[Role] | set[Role] | tuple[Role, ...]) -> bool:
    """Whether a user with ``roles`` works in JupyterLab (and may run code)."""
    return any(role in CODE_ROLES for role in roles)


class WorkbenchAuthorizer(Authorizer):
    """Everything for a user who runs code; for anyone else only what their dashboard needs."""

    def is_authorized(self, handler: Any, user: JupyterUser, action: str, resource: str) -> bool:
        if handler.settings.get("workbench_runs_code") is True:
            return True
        return (resource, action) in _DASHBOARD_ONLY

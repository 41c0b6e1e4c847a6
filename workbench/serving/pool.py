"""Preheated dashboard kernels inside a Jupyter server: Voila's kernel pool, carried over from its standalone app.

Voila keeps kernels warm (the notebook's imports already run) only in its standalone app; its server
extension starts a cold kernel for every page. ``DashboardKernelManager`` is the server's kernel
manager (``ServerApp.kernel_manager_class``, set in ``jupyter-config``) with Voila's pool in it, so
the workbench's dashboards open as quickly in the one server (JupyterLab, Voila, the workbench) as
they did in a standalone Voila. Every other kernel (a notebook in JupyterLab) is an ordinary one.

Voila's pool fills at construction time from the app that owns it; here nothing is filled until the
workbench extension calls ``start_pools`` with the dashboards the signed-in user may open, and the
pages are read from the dashboards folder whatever the server's root folder is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from voila.voila_kernel_manager import voila_kernel_manager_factory

from workbench.errors import InvalidInput

POOL_SIZE = 2
"""Preheated kernels kept ready per dashboard (each holds about 150-450 MB): two, so that a second
page opened right after the first finds one ready too (``workbench serve --pool-size N``)."""
MAX_POOL_SIZE = 8

RendererFactory = Callable[[str], Any]
"""Makes Voila's ``NotebookRenderer`` for a dashboard notebook's name (see ``workbench.serving.dashboards``)."""

_VoilaPool: Any = voila_kernel_manager_factory(AsyncMappingKernelManager, True, 0)


class DashboardKernelManager(_VoilaPool):  # type: ignore[misc]  # Voila's class is untyped
    """The server's kernels, with a pool of preheated kernels per dashboard once ``start_pools`` is called."""

    def __init__(self, **kwargs: Any) -> None:
        # Not Voila's __init__: it fills a pool for every notebook under the root folder at once.
        AsyncMappingKernelManager.__init__(self, **kwargs)  # type: ignore[no-untyped-call]
        self._wait_at_startup = True
        self.notebook_data: dict[str, Any] = {}
        self._pools: dict[str, list[Any]] = {}
        self.notebook_path = None
        self._renderer: RendererFactory | None = None

    def start_pools(self, sizes: Mapping[str, int], renderer: RendererFactory,
                    kernel_env: Mapping[str, str] | None = None) -> None:
        """Keep ``sizes[name]`` kernels preheated for each dashboard notebook ``name`` (none for any other)."""
        self._renderer = renderer
        if getattr(self.parent, "server_url", None) is None:
            self.parent.server_url = self.parent.base_url  # Voila's pool tells its kernels where the server is from this
        self.kernel_pools_config = {
            "default": {"pool_size": 0, "kernel_env_variables": dict(kernel_env or {})},
            **{name: {"pool_size": size, "kernel_env_variables": dict(kernel_env or {})} for name, size in sizes.items()},
        }
        for name in sizes:
            self.fill_if_needed(delay=0, notebook_name=name)

    def pooled(self) -> dict[str, int]:
        """How many kernels each dashboard's pool holds or is starting (for the health check and tests)."""
        return {name: len(pool) for name, pool in self._pools.items()}

    def _notebook_renderer_factory(self, notebook_path: str | None = None) -> Any:
        if self._renderer is None or notebook_path is None:
            raise RuntimeError("the dashboard pools have not been started")
        return self._renderer(notebook_path)



def check_pool_size(size: int) -> int:
    """The number of preheated kernels per dashboard: 1 to ``MAX_POOL_SIZE``."""
    if not 1 <= size <= MAX_POOL_SIZE:
        raise InvalidInput("serve.pool_size", field="pool_size", most=MAX_POOL_SIZE)
    return size

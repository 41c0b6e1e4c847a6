"""Serving the dashboards: the hardened Voila application (server side) and what each page's kernel
does before it builds a page (kernel side).

- ``workbench.serving.handlers``: every route behind the login, the token swapped for a cookie,
  the kernels' request-info socket closed to everyone but our own kernels.
- ``workbench.serving.voila_app``: the Voila application ``workbench serve`` starts.
- ``workbench.serving.kernel``: a page kernel's failures go to the server-side log, never to the page.
"""

KERNEL_SECRET_ENV = "WORKBENCH_KERNEL_SECRET"
"""The environment variable that carries the request-info socket's secret to our kernels."""
KERNEL_SECRET_HEADER = "X-Workbench-Kernel"
"""The header a kernel presents that secret in."""
LOG_ENV = "WORKBENCH_LOG"
"""The environment variable naming the server-side log file of the page kernels."""

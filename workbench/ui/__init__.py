"""Dashboards' widgets: ``coordinator_app()`` builds the coordinator's Voila page."""

from __future__ import annotations

from typing import Any


def coordinator_app(data: str | None = None) -> Any:
    """The coordinator dashboard (imported lazily so ``import workbench.ui`` stays cheap)."""
    from workbench.ui.coordinator.app import coordinator_app as build

    return build(data)

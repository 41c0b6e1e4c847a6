"""Placeholder tab (being built)."""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets


class OverviewTab:
    """Placeholder."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.widget = widgets.HTML("")

    def refresh(self) -> None:
        """Nothing to refresh yet."""

    def show(self, case_id: str) -> None:
        """Nothing to show yet."""

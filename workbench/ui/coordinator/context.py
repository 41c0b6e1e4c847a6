"""What a coordinator tab needs from the page around it: a small typed context instead of the whole app."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from workbench.service import Workbench
    from workbench.ui.widgets import Feedback


class TabContext(Protocol):
    """The signed-in coordinator's handle and site, the page's feedback line, and moves between tabs."""

    wb: Workbench  # acts as the signed-in user; its ``actor`` is who the audit trail names
    site: str
    feedback: Feedback

    def own(self, table: str, doc_id: str, not_found: str) -> dict[str, Any]:
        """A case, brobygger or community of this site, re-checked on the server."""
        ...

    def open_case(self, case_id: str) -> None:
        """Show one case on the case tab."""
        ...

    def show_volunteer(self, volunteer_id: str) -> None:
        """Show one brobygger on the brobyggere tab."""
        ...

    def refresh(self) -> None:
        """Re-read the store and redraw every tab."""
        ...

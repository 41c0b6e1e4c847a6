"""Our exception types: every refusal a user can meet, carrying a catalog key.

An error names the field it concerns (so a form can show it beside that field)
and renders in the language in force; it never carries a stored sensitive value.
"""

from __future__ import annotations

from typing import Any

from workbench.i18n import t


class WorkbenchError(Exception):
    """Base of every error the workbench raises on purpose."""

    def __init__(self, key: str, *, field: str | None = None, **params: Any) -> None:
        self.key = key
        self.field = field
        self.params = params
        super().__init__(key)

    @property
    def message(self) -> str:
        """The sentence for the user, in the language in force."""
        params = dict(self.params)
        for name, prefix in (("kind", "kind"), ("status", "status"), ("role", "users.role")):
            if isinstance(params.get(name), str):
                params[name] = t(f"{prefix}.{params[name]}")
        return t(self.key, **params)

    def __str__(self) -> str:
        prefix = f"{self.field}: " if self.field else ""
        return prefix + self.message


class InvalidInput(WorkbenchError):
    """A value a user typed or imported is not acceptable."""


class InvalidFields(InvalidInput):
    """Several fields of one form are not acceptable: every one of them, so a form shows them all at once.

    Reads as the first of them wherever one error is expected (its key, field and message).
    """

    def __init__(self, errors: list[InvalidInput]) -> None:
        first = errors[0]
        super().__init__(first.key, field=first.field, **first.params)
        self.errors = errors


class NotFound(WorkbenchError):
    """A referenced record does not exist (or was erased)."""


class WorkflowRefused(WorkbenchError):
    """The case's current status does not allow this step."""


class ConsentMissing(WorkbenchError):
    """The citizen has not given (or has withdrawn) consent for this purpose."""


class StaleEdit(WorkbenchError):
    """Someone else changed the record since it was read; reload and try again."""


class NotAllowed(WorkbenchError):
    """The signed-in user's role or sites do not allow this call (written to the audit trail)."""


class StoreError(WorkbenchError):
    """The data directory cannot be used (missing, unreadable, foreign, too new)."""

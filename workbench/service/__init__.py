"""The service: the only way to read and change data, as a known user (``Workbench``), and what it uses
(the role matrix, users, privacy and administration, the catalog import)."""

from workbench.service.handle import Workbench

__all__ = ["Workbench"]

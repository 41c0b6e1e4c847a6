"""Who the tests act as: known users, made explicitly, since there is no handle without one.

``staff()`` is the everyday test user: a coordinator of every site the tests use, who is also
administrator and project lead, so a test can set up sites and do case work on one handle.
What each single role may do is tested on its own in ``test_access.py``.
"""

from __future__ import annotations

import re

from workbench.service.users import User, make_user

TEST_SITES = ("ODE", "AAR", "AAL", "ESB", "KGE", "SVE")


def staff(name: str = "Test Koordinator", *, roles: tuple[str, ...] = ("coordinator", "admin", "lead"),
          sites: tuple[str, ...] = TEST_SITES) -> User:
    """A user named ``name`` (its id is the name in lower case, dotted) with ``roles`` at ``sites``."""
    user_id = re.sub(r"[^a-z0-9]+", ".", name.lower()).strip(".")[:32] or "test"
    return make_user(id=user_id if len(user_id) > 1 else f"{user_id}0", name=name, roles=roles,
                     sites=sites if "coordinator" in roles else ())

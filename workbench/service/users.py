"""The people who use a workbench: ``users.toml`` in the data directory.

Each user has an id (what they sign in as, and what the audit trail names), a display name, a
role (or ``roles = [...]``, e.g. an administrator who is also a coordinator) and the sites they
work for::

    [users.anna]
    name = "Anna Koordinator"
    role = "coordinator"
    sites = ["ODE"]
    language = "da"

Roles (what each may do is the matrix in the README, enforced by the service):
``coordinator`` (case work for their sites), ``lead`` (aggregated figures of every site),
``lab`` and ``researcher`` (the de-identified extract only), ``admin`` (users, backup, restore,
erasure, access exports, integrity check).

The file is small, written whole (temporary file, fsync, rename) and readable by its owner only.
An older data directory with a ``config.json`` naming one coordinator (``user_name``, ``site``)
and a lead (``lead_name``) becomes a ``users.toml`` once, with a message (``migrate_config``).
"""

from __future__ import annotations

import os
import re
import tempfile
import tomllib
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any

import tomli_w
from filelock import FileLock
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from workbench.domain import validation
from workbench.errors import InvalidInput, StoreError

USERS_FILE = "users.toml"
LANGUAGES = ("da", "en")
_ID = re.compile(r"[a-z0-9][a-z0-9._-]{1,31}")


class Role(StrEnum):
    """What a user does; decides what the service lets them read and change."""

    coordinator = "coordinator"
    lead = "lead"
    lab = "lab"
    researcher = "researcher"
    admin = "admin"


class User(BaseModel):
    """One person who signs in: id, display name, role, sites, language."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    name: str
    roles: tuple[Role, ...]
    sites: tuple[str, ...] = ()
    language: str = "da"

    @model_validator(mode="before")
    @classmethod
    def _one_role(cls, data: Any) -> Any:
        """``role = "lead"`` is short for ``roles = ["lead"]`` (one role is the common case)."""
        if isinstance(data, dict) and "role" in data and "roles" not in data:
            role = data["role"]
            data = {**{k: v for k, v in data.items() if k != "role"}, "roles": [role] if role else []}
        return data

    @property
    def role(self) -> Role:
        """The user's first role: the one their pages and the audit trail's refusals name."""
        return self.roles[0]

    def has(self, role: Role | str) -> bool:
        """Whether the user holds ``role``."""
        return Role(role) in self.roles

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _ID.fullmatch(value):
            raise ValueError("users.bad_id")
        return value

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return validation.name(value)  # a display name, never a CPR number

    @field_validator("roles")
    @classmethod
    def _roles(cls, value: tuple[Role, ...]) -> tuple[Role, ...]:
        if not value:
            raise ValueError("users.bad_role")
        return tuple(dict.fromkeys(value))

    @field_validator("sites")
    @classmethod
    def _sites(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        cleaned = tuple(dict.fromkeys(site.strip().upper() for site in value if site.strip()))
        if any(not re.fullmatch(r"[A-Z0-9]{2,8}", site) for site in cleaned):
            raise ValueError("users.bad_site")
        return cleaned

    @field_validator("language")
    @classmethod
    def _language(cls, value: str) -> str:
        if value not in LANGUAGES:
            raise ValueError("users.bad_language")
        return value

    @model_validator(mode="after")
    def _coordinator_has_a_site(self) -> User:
        if Role.coordinator in self.roles and not self.sites:
            raise ValueError("users.coordinator_without_site")
        return self


def make_user(**fields: Any) -> User:
    """A validated user, or ``InvalidInput`` naming the field and what is wrong (in the user's language)."""
    try:
        return User(**fields)
    except InvalidInput as exc:  # from validation.name: the display name
        exc.field = exc.field or "name"
        raise
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else "sites"  # the one check of the whole user
        field = "role" if field == "roles" else field
        cause = error.get("ctx", {}).get("error")
        key = str(cause) if cause is not None and str(cause).startswith("users.") else f"users.bad_{field}"
        raise InvalidInput(key, field=field, roles=", ".join(Role), languages=", ".join(LANGUAGES)) from None


def path(root: Path) -> Path:
    """Where a data directory keeps its users."""
    return Path(root) / USERS_FILE


def load(root: Path) -> dict[str, User]:
    """Every user of the data directory by id (none when there is no ``users.toml``)."""
    file = path(root)
    try:
        data = tomllib.loads(file.read_text("utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise StoreError("users.unreadable", path=str(file), reason=str(exc)) from None
    table = data.get("users", {})
    if not isinstance(table, dict):
        raise StoreError("users.unreadable", path=str(file), reason="[users]")
    users: dict[str, User] = {}
    for user_id, fields in table.items():
        if not isinstance(fields, dict):
            raise StoreError("users.unreadable", path=str(file), reason=f"[users.{user_id}]")
        try:
            users[user_id] = make_user(id=user_id, **fields)
        except (InvalidInput, TypeError) as exc:
            raise StoreError("users.unreadable", path=str(file), reason=f"[users.{user_id}]: {exc}") from None
    return users


def save(root: Path, users: Mapping[str, User]) -> Path:
    """Write every user at once (temporary file, fsync, rename; owner-only)."""
    file = path(root)
    document = {"users": {u.id: {"name": u.name, **_roles_entry(u), "sites": list(u.sites), "language": u.language}
                          for u in sorted(users.values(), key=lambda u: u.id)}}
    fd, temp = tempfile.mkstemp(prefix=".users-", suffix=".toml", dir=file.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(tomli_w.dumps(document).encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, 0o600)
        os.replace(temp, file)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return file


def _roles_entry(user: User) -> dict[str, Any]:
    """``role = "x"`` for one role (the file stays as simple as the common case), else ``roles = [...]``."""
    if len(user.roles) == 1:
        return {"role": user.role.value}
    return {"roles": [r.value for r in user.roles]}


def known(root: Path, user_id: str) -> User:
    """The user ``user_id`` of the data directory; ``NotAllowed`` (saying how to add them) when there is none."""
    from workbench.errors import NotAllowed

    users = load(root)
    if user_id not in users:
        raise NotAllowed("users.unknown_signin", id=user_id, path=str(path(root)))
    return users[user_id]


def resolve(root: Path, user: str | User | None) -> User:
    """Who a handle acts as: the user given (or their id), else the signed-in user, else the only user.

    ``NotAllowed`` in plain words when nobody can be told apart: there is never a fallback identity.
    """
    from workbench.config import signed_in_user
    from workbench.errors import NotAllowed

    if isinstance(user, User):
        return user
    chosen = user or signed_in_user()
    if chosen:
        return known(root, chosen)
    everyone = load(root)
    if len(everyone) == 1:
        return next(iter(everyone.values()))
    raise NotAllowed("users.choose" if everyone else "users.none_yet", path=str(path(root)),
                     ids=", ".join(sorted(everyone)), first=min(everyone, default="ID"))


def _editing(root: Path) -> FileLock:
    """Held while ``users.toml`` is read, changed and written: several servers may change it at once (JupyterHub)."""
    return FileLock(str(path(root)) + ".lock", timeout=30)


def add(root: Path, user: User) -> User:
    """Add a new user; an id already in use is refused."""
    with _editing(root):
        users = load(root)
        if user.id in users:
            raise InvalidInput("users.exists", field="id", id=user.id)
        save(root, {**users, user.id: user})
    return user


def remove(root: Path, user_id: str) -> None:
    """Remove a user (their audit records keep their id)."""
    with _editing(root):
        users = load(root)
        if user_id not in users:
            raise InvalidInput("users.unknown", field="id", id=user_id)
        save(root, {k: v for k, v in users.items() if k != user_id})


def set_role(root: Path, user_id: str, role: str | tuple[str, ...], sites: tuple[str, ...] | None = None) -> User:
    """Give a user other roles (one or several; and, if given, other sites)."""
    with _editing(root):
        users = load(root)
        if user_id not in users:
            raise InvalidInput("users.unknown", field="id", id=user_id)
        current = users[user_id]
        changed = make_user(id=user_id, name=current.name, roles=(role,) if isinstance(role, str) else role,
                            sites=current.sites if sites is None else sites, language=current.language)
        save(root, {**users, user_id: changed})
    return changed


GROUP_PREFIX = "workbench-"
"""JupyterHub groups that give workbench roles and sites: ``workbench-coordinator``, ``workbench-site-ODE``."""


def from_groups(root: Path, user_id: str, groups: list[str], prefix: str = GROUP_PREFIX) -> User | None:
    """Set a user's roles and sites from their JupyterHub groups (the hub decides when so configured).

    ``<prefix><role>`` gives a role, ``<prefix>site-<CODE>`` a site. Without any role group the
    user is removed from ``users.toml``: taking someone out of the hub's groups ends their access.
    Their name and language stay as they were (a new user is named by their id until an admin renames them).
    """
    named = {f"{prefix}{role.value}": role for role in Role}
    roles = tuple(named[g] for g in groups if g in named)
    sites = tuple(sorted(g.removeprefix(f"{prefix}site-") for g in groups if g.startswith(f"{prefix}site-")))
    with _editing(root):
        users = load(root)
        if not roles:
            if user_id in users:
                save(root, {k: v for k, v in users.items() if k != user_id})
            return None
        current = users.get(user_id)
        user = make_user(id=user_id, name=current.name if current else user_id, roles=roles, sites=sites,
                         language=current.language if current else "da")
        if user != current:
            save(root, {**users, user_id: user})
    return user


def _slug(name: str) -> str:
    danish: dict[str, str | int | None] = {"æ": "ae", "ø": "oe", "å": "aa"}
    ascii_name = name.lower().translate(str.maketrans(danish))
    slug = re.sub(r"[^a-z0-9]+", ".", ascii_name).strip(".")[:32] or "user"
    return slug if len(slug) >= 2 else f"{slug}0"


def migrate_config(root: Path, config: Mapping[str, Any]) -> list[User]:
    """Users made from an old ``config.json`` (one coordinator, one lead), once: only when there is no
    ``users.toml`` yet. Returns the users written (none when there was nothing to migrate)."""
    if path(root).exists():
        return []
    made: dict[str, User] = {}
    name, site, lead = config.get("user_name"), config.get("site"), config.get("lead_name")
    if isinstance(name, str) and name.strip() and isinstance(site, str) and site.strip():
        user = make_user(id=_slug(name), name=name, role=Role.coordinator, sites=(site,))
        made[user.id] = user
    if isinstance(lead, str) and lead.strip():
        user_id = _slug(lead)
        if user_id in made:
            user_id = f"{user_id}.lead"[:32]
        made[user_id] = make_user(id=user_id, name=lead, role=Role.lead)
    if made:
        save(root, made)
    return list(made.values())

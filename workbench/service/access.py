"""Who may call which service method, for which site: the role matrix as data.

Every public method of ``workbench.service.Workbench`` has a rule here (a test fails for a method
without one). A rule names the roles that may call the method and, for methods that touch one
site's records, which argument names that site. A coordinator may only touch records of their own
sites; the lead and the admin are not bound to sites, but can only call what their role allows.
The README's role table is this dictionary in words.
"""

from __future__ import annotations

from dataclasses import dataclass

from workbench.service.users import Role

C, L, A, LAB, R = Role.coordinator, Role.lead, Role.admin, Role.lab, Role.researcher


@dataclass(frozen=True)
class Rule:
    """The roles allowed to call a method, and what names the site it touches (None: no one site)."""

    roles: frozenset[Role]
    target: str | None = None  # "site", "case", "citizen", "volunteer", "community"


def _rule(*roles: Role, target: str | None = None) -> Rule:
    return Rule(frozenset(roles), target)


RULES: dict[str, Rule] = {
    # every role: the date the handle works with
    "today": _rule(C, L, A, LAB, R),
    # frames: a coordinator's hold their own sites' rows, the lead's no personal column; lab and
    # research get the de-identified extract instead, never the store
    "frames": _rule(C, L),
    "refresh": _rule(C, L, A, LAB, R),
    "sites": _rule(C, L, A),
    "interventions": _rule(C, L, A, LAB, R),
    "define_template": _rule(L, A, LAB),
    "fork_template": _rule(L, A, LAB),
    "pilot_template": _rule(C, L, A, LAB, target="site"),
    "extract": _rule(A),
    "newest_extract": _rule(A, LAB, R),
    "targets": _rule(C, L),
    "lead_table": _rule(L),  # suppressed aggregates of every site, shared by the lead's pages
    "citizen_names": _rule(C),
    "case": _rule(C, target="case"),
    "volunteer": _rule(C, target="volunteer"),
    "community": _rule(C),  # the catalog is shared by every site
    "exports_folder": _rule(L),
    "user_names": _rule(C, L, A),
    "tinydb": _rule(A),  # every table whole: names and contacts included
    "batch": _rule(C, A),
    "bulk": _rule(C, A),
    "add_site": _rule(A),
    "add_intervention": _rule(L, A),
    "register_volunteer": _rule(C, target="site"),
    "update_volunteer": _rule(C, target="volunteer"),
    "volunteer_load": _rule(C, target="volunteer"),
    "open_referral": _rule(C, target="site"),
    "referral_status": _rule(C),  # the case is found by its key among the user's own sites
    "open_case": _rule(C, target="citizen"),
    "citizen": _rule(C, target="citizen"),
    "update_citizen": _rule(C, target="citizen"),
    "update_contact": _rule(C, target="citizen"),
    "record_consent": _rule(C, target="citizen"),
    "add_community": _rule(C, target="site"),
    "update_community": _rule(C, target="community"),
    "verify_community": _rule(C, target="community"),
    "case_state": _rule(C, target="case"),
    "case_events": _rule(C, target="case"),
    "assign": _rule(C, target="case"),
    "close_case": _rule(C, target="case"),
    "reopen_case": _rule(C, target="case"),
    "record_event": _rule(C, target="case"),
    "set_interventions": _rule(C, target="case"),
    "record_measure": _rule(C, target="case"),
    "set_target": _rule(C, L, target="site"),
    "erase_citizen": _rule(A),
    "export_citizen": _rule(A),
    "export_citizen_csv": _rule(A),
    "export_citizen_file": _rule(A),
    "backup": _rule(A),
    "restore": _rule(A),
    "check": _rule(A),
}

TABLE_OF = {"case": "cases", "citizen": "citizens", "volunteer": "volunteers", "community": "communities"}
"""The table holding a target's record (its ``site_id`` names the site)."""

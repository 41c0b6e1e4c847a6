"""The workbench's JSON API under ``/workbench/api/``, behind Jupyter's own login and XSRF protection.

- ``POST referrals``: an online referral form or another system hands over a citizen. The body is
  validated by the same service call as the coordinator's intake form (so the same sentences come
  back), and ``client_key`` makes it idempotent: sent again, the first answer comes back and
  nothing is written.
- ``GET referrals/<client_key>``: the referrer's view of whether the citizen arrived (closing the
  loop), only with the citizen's consent to that (``referrer_feedback``).
- ``GET summary``: the project lead's funnel per site, suppressed (labels only, never a small count).

Every call acts as the server's user (``JUPYTERHUB_USER`` or ``WORKBENCH_USER``) through the service,
so the role matrix decides; a refusal is ``{"error": key, "field": …, "message": sentence}`` with 400
(bad input), 403 (not allowed, no consent), 404 or 409.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jupyter_server.base.handlers import APIHandler
from tornado import web

from workbench.errors import ConsentMissing, InvalidInput, NotAllowed, NotFound, StaleEdit, StoreError, WorkbenchError
from workbench.service import Workbench, opening

_STATUS: tuple[tuple[type[WorkbenchError], int], ...] = (
    (NotAllowed, 403), (ConsentMissing, 403), (NotFound, 404), (StaleEdit, 409), (StoreError, 503),
)
_REFERRAL_FIELDS = {"client_key", "site", "citizen", "consents", "contact", "on", "note"}


class _Api(APIHandler):
    """An API call: the user's service handle, and refusals as JSON sentences."""

    def workbench(self) -> Workbench:
        """The server's service handle (opened once, as the server's user; it catches up on every call)."""
        handle = self.settings.get("workbench_handle")
        if handle is None:
            handle = opening.open_workbench(Path(self.settings["workbench_data"]))
            self.settings["workbench_handle"] = handle
        return handle

    def refuse(self, error: WorkbenchError) -> None:
        status = next((code for kind, code in _STATUS if isinstance(error, kind)), 400)
        self.set_status(status)
        self.finish(json.dumps({"error": error.key, "field": error.field, "message": error.message},
                               ensure_ascii=False))

    def json_body(self) -> dict[str, Any]:
        try:
            body = json.loads(self.request.body or b"")
        except ValueError:
            raise InvalidInput("api.not_json") from None
        if not isinstance(body, dict):
            raise InvalidInput("api.not_json")
        return body


class ReferralsHandler(_Api):
    """``POST /workbench/api/referrals``: a new referral (idempotent with ``client_key``)."""

    @web.authenticated
    def post(self) -> None:
        try:
            body = self.json_body()
            unknown = sorted(set(body) - _REFERRAL_FIELDS)
            if unknown:
                raise InvalidInput("input.unknown_field", field=unknown[0])
            for name in ("client_key", "site"):
                if not isinstance(body.get(name), str):
                    raise InvalidInput("input.required", field=name)
            citizen, consents = body.get("citizen"), body.get("consents")
            if not isinstance(citizen, dict):
                raise InvalidInput("input.required", field="citizen")
            if not isinstance(consents, list) or not all(isinstance(c, dict) for c in consents):
                raise InvalidInput("input.required", field="consents")
            contact = body.get("contact")
            if contact is not None and not isinstance(contact, dict):
                raise InvalidInput("input.type", field="contact")
            case = self.workbench().open_referral(
                site_id=body["site"], citizen=citizen, consents=consents, contact=contact, on=body.get("on"),
                text=body.get("note"), client_key=body["client_key"])
        except WorkbenchError as refused:
            self.refuse(refused)
            return
        self.set_status(200 if case.get("replayed") else 201)
        self.finish(json.dumps({"client_key": case["client_key"], "case_number": case["number"],
                                "replayed": bool(case.get("replayed"))}))


class ReferralStatusHandler(_Api):
    """``GET /workbench/api/referrals/<client_key>``: did the citizen arrive (with their consent)."""

    @web.authenticated
    def get(self, client_key: str) -> None:
        try:
            status = self.workbench().referral_status(client_key)
        except WorkbenchError as refused:
            self.refuse(refused)
            return
        self.finish(json.dumps(status))


class SummaryHandler(_Api):
    """``GET /workbench/api/summary``: the funnel per site and step, suppressed, for the project lead."""

    @web.authenticated
    def get(self) -> None:
        from workbench.reporting import analysis
        from workbench.reporting.suppression import STANDARD

        try:
            wb = self.workbench()
            if not wb.user.has("lead"):
                raise NotAllowed("access.refused", method="summary", role=wb.user.role.value, where="")
            table = analysis.funnel(wb.frames, None, STANDARD)
        except WorkbenchError as refused:
            self.refuse(refused)
            return
        rows = table.select("site", "step", "count_label", "from_referral_label").to_dicts()
        self.finish(json.dumps({"policy": "standard", "rows": rows}, ensure_ascii=False))


HANDLERS = [
    (r"/workbench/api/referrals", ReferralsHandler),
    (r"/workbench/api/referrals/([A-Za-z0-9_-]{1,128})", ReferralStatusHandler),
    (r"/workbench/api/summary", SummaryHandler),
]

"""The ``workbench`` command line: demo data, integrity check, backup, restore, exports.

A stable surface that others script against; every error is one plain sentence
on stderr and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import errno
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from workbench.errors import WorkbenchError
from workbench.i18n import t


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="workbench", description="Brobygning Workbench")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data", help="data directory (default: $WORKBENCH_DATA, then a per-user folder)")
    common.add_argument("--user", help="act as this user of users.toml (default: $WORKBENCH_USER, else the only "
                        "user); every step is checked against the user's roles and sites, and audited under their id")
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", parents=[common], help="add synthetic demo cases")
    demo.add_argument("--cases", type=int, default=2000)
    demo.add_argument("--seed", type=int, default=2026)
    demo.add_argument("--if-empty", action="store_true", help="only when the store holds no cases")

    check = commands.add_parser("check", parents=[common], help="verify integrity")
    check.add_argument("--json", action="store_true")
    check.add_argument("--repair", action="store_true",
                       help="a damaged journal: keep everything before the damage (the rest is set aside in a file)")
    check.add_argument("--yes", action="store_true", help="with --repair: do not ask for confirmation")

    backup = commands.add_parser("backup", parents=[common], help="write a consistent copy")
    backup.add_argument("--to", required=True, type=Path)

    restore = commands.add_parser("restore", parents=[common], help="replace the store with a backup")
    restore.add_argument("file", type=Path)

    export = commands.add_parser("export-citizen", parents=[common], help="access request export")
    export.add_argument("citizen_id")
    export.add_argument("--format", choices=("json", "csv"), default="json")
    export.add_argument("--to", type=Path, help="file to write (default: print)")

    erase = commands.add_parser("erase-citizen", parents=[common], help="GDPR erasure of one citizen")
    erase.add_argument("citizen_id")

    extract = commands.add_parser("extract", parents=[common],
                                  help="write a de-identified research extract (Parquet + datapackage.json)")
    extract.add_argument("--k", type=int, default=5, help="the least number of citizens sharing a combination of "
                         "site, age group and referral month (5 or more; default 5)")

    users = commands.add_parser("users", help="the people who use this data directory (users.toml)")
    users.add_argument("--data", help="data directory (default: $WORKBENCH_DATA, then a per-user folder)")
    actions = users.add_subparsers(dest="action", required=True)
    actions.add_parser("list", help="every user with role and sites")
    add = actions.add_parser("add", help="add a user")
    add.add_argument("id")
    add.add_argument("--name", required=True, help="display name")
    add.add_argument("--role", action="append", required=True,
                     help="coordinator, lead, lab, researcher or admin (repeat for a user with several roles)")
    add.add_argument("--site", action="append", default=[], help="a site the user works for (repeat for more)")
    add.add_argument("--language", default="da", help="da or en")
    remove = actions.add_parser("remove", help="remove a user")
    remove.add_argument("id")
    set_role = actions.add_parser("set-role", help="give a user other roles (and sites)")
    set_role.add_argument("id")
    set_role.add_argument("role", nargs="+")
    set_role.add_argument("--site", action="append", default=None, help="the user's sites from now on")

    serve = commands.add_parser("serve", help="the one Jupyter server (landing page, dashboards, JupyterLab) on 127.0.0.1 with an access token")
    serve.add_argument("--data", help="data directory (default: $WORKBENCH_DATA, then a per-user folder)")
    serve.add_argument("--port", type=int, default=8866)
    serve.add_argument("--token", help="access token (default: the one in <data>/voila-token, else a new one)")
    serve.add_argument("--open-browser", action="store_true", help="open the landing page once it answers")
    serve.add_argument("--log", help="the page kernels' log file (default: the user's log folder)")
    serve.add_argument("--user", help="the user (in users.toml) the server acts for; their roles decide what it offers")
    serve.add_argument("--pool-size", type=int, default=2, help="preheated kernels kept ready per dashboard (1-8)")
    serve.add_argument("--workdir", help="JupyterLab's folder (default: notebooks/; elsewhere the notebooks are copied into brobygning/ there)")
    return parser


def run(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit code."""
    args = _parser().parse_args(argv)
    from workbench.config import data_dir

    print(t("cli.data_folder", path=str(data_dir(args.data))), file=sys.stderr)
    if args.command == "serve":
        from workbench.serve import serve

        return serve(args.data, port=args.port, token=args.token, open_browser=args.open_browser, log=args.log,
                     user=args.user, pool_size=args.pool_size, workdir=args.workdir)
    if args.command == "users":
        return _users(args)
    import workbench

    if args.command == "demo":
        if args.cases < 1:
            print(t("input.number_range"), file=sys.stderr)
            return 2
        from workbench.config import data_dir
        from workbench.demo import LOADER, ensure_demo_users
        from workbench.service.users import path as users_path

        workbench.init(args.data)
        if made := ensure_demo_users(data_dir(args.data)):
            print(t("users.demo_written", path=str(users_path(data_dir(args.data))),
                    users=", ".join(f"{u.id} ({', '.join(t(f'users.role.{r.value}') for r in u.roles)})" for u in made)))
        wb = workbench.open(args.data, user=args.user or LOADER)
        if args.if_empty and wb.frames.cases.height > 0:
            print(t("cli.demo_skipped"))
            return 0
        from workbench.demo import generate

        started = time.perf_counter()
        summary = generate(wb, args.cases, seed=args.seed)
        print(t("cli.demo_done", cases=summary.cases, events=summary.events,
                seconds=time.perf_counter() - started))
        return 0
    if args.command == "check" and args.repair:
        return _repair(args)
    # Every other command reads or changes a store that is there: none is created by the way.
    wb = workbench.open(args.data, user=args.user, create=args.command == "restore")  # a restore may start a new folder
    if args.command == "check":
        report = wb.check()
        if args.json:
            print(json.dumps(report.as_json(), ensure_ascii=False))
        else:
            print("\n".join(report.problems) if report.problems else t(
                "check.ok", path=str(data_dir(args.data)), cases=report.counts.get("cases", 0)))
        return 0 if report.sound else 1
    if args.command == "backup":
        print(t("cli.backup_done", path=str(wb.backup(args.to))))
        return 0
    if args.command == "restore":
        erased = wb.restore(args.file)
        print(t("cli.restore_done", path=str(args.file), erased=erased))
        return 0
    if args.command == "export-citizen":
        if args.to:
            print(str(wb.export_citizen_file(args.citizen_id, args.to, args.format)))
        elif args.format == "json":
            print(json.dumps(wb.export_citizen(args.citizen_id), ensure_ascii=False, indent=1))
        else:
            sys.stdout.write(wb.export_citizen_csv(args.citizen_id))
        return 0
    if args.command == "extract":
        print(wb.extract(k=args.k).summary())
        return 0
    if args.command == "erase-citizen":
        wb.erase_citizen(args.citizen_id)
        print(t("cli.erase_done"))
        return 0
    return 2


def _users(args: argparse.Namespace) -> int:
    """``workbench users …``: list, add, remove, set-role (no store is opened or created)."""
    from workbench.config import data_dir
    from workbench.service import users

    root = data_dir(args.data)
    if args.action == "list":
        listed = users.load(root)
        if not listed:
            print(t("users.none"))
        for user in sorted(listed.values(), key=lambda u: u.id):
            print(f"{user.id}\t{user.name}\t{'+'.join(t(f'users.role.{r.value}') for r in user.roles)}\t{','.join(user.sites)}\t{user.language}")
        return 0
    if not root.is_dir():
        print(t("cli.error", message=t("store.missing", path=str(root))), file=sys.stderr)
        return 1
    if args.action == "add":
        user = users.add(root, users.make_user(id=args.id, name=args.name, roles=tuple(args.role), sites=tuple(args.site),
                                               language=args.language))
        print(t("users.added", id=user.id, name=user.name, role=_roles(user)))
    elif args.action == "remove":
        users.remove(root, args.id)
        print(t("users.removed", id=args.id))
    else:
        user = users.set_role(root, args.id, tuple(args.role), None if args.site is None else tuple(args.site))
        sites = f" ({', '.join(user.sites)})" if user.sites else ""
        print(t("users.role_set", id=user.id, role=_roles(user), sites=sites))
    return 0


def _repair(args: argparse.Namespace) -> int:
    """``workbench check --repair``: an administrator keeps everything before a damaged journal line."""
    from workbench.config import data_dir
    from workbench.errors import NotAllowed
    from workbench.service import admin, users

    root = data_dir(args.data)
    user = users.resolve(root, args.user)
    if not user.has("admin"):
        raise NotAllowed("access.refused", method="check --repair", role=user.role.value, where="")
    found = admin.journal_damage(root)
    if found is None:
        print(t("repair.nothing"))
        return 0
    print(found.message)
    if not args.yes:
        if not sys.stdin.isatty():
            print(t("repair.confirm_needed"), file=sys.stderr)
            return 1
        if input(t("repair.ask", line=found.params["line"], after=found.params["after"])).strip().lower() not in (
                "ja", "yes"):
            print(t("repair.cancelled"))
            return 1
    done = admin.repair_journal(root)
    assert done is not None
    print(t("repair.done", path=str(done.journal), line=done.line, count=done.set_aside, aside=str(done.aside)))
    return 0


def _roles(user: Any) -> str:
    """A user's roles in the user's words (``koordinator + administrator``)."""
    return " + ".join(t(f"users.role.{r.value}") for r in user.roles)


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point: plain-language errors, never a traceback."""
    try:
        code = run(argv)
    except WorkbenchError as exc:
        print(t("cli.error", message=str(exc)), file=sys.stderr)
        code = 1
    except OSError as exc:  # a full disk, a file that cannot be written: one sentence, never a traceback
        key = "cli.disk_full" if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG) else "cli.os_error"
        print(t("cli.error", message=t(key, detail=f"{exc.strerror or exc} ({exc.filename or ''})")), file=sys.stderr)
        code = 1
    except KeyboardInterrupt:
        code = 130
    sys.exit(code)


if __name__ == "__main__":
    main()

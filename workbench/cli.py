"""The ``workbench`` command line: demo data, integrity check, backup, restore, exports.

A stable surface that others script against; every error is one plain sentence
on stderr and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import errno
import json
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from workbench.errors import WorkbenchError
from workbench.i18n import t


class _Parser(argparse.ArgumentParser):
    """``argparse`` in the user's language: usage, headings, ``--help`` and the common errors from the catalog."""

    def __init__(self, *, add_help: bool = True, parents: Sequence[argparse.ArgumentParser] = (),
                 **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(add_help=False, **kwargs)
        self._positionals.title = t("cli.heading.positionals")
        self._optionals.title = t("cli.heading.options")
        if add_help:
            self.add_argument("-h", "--help", action="help", default=argparse.SUPPRESS, help=t("cli.help.help"))
        for parent in parents:  # after the headings are named, so a parent's options join ours under one
            self._add_container_actions(parent)
            self._defaults.update(parent._defaults)

    def error(self, message: str) -> NoReturn:
        for pattern, key in _ERRORS:
            found = re.fullmatch(pattern, message, flags=re.DOTALL)
            if found:
                message = t(key, **found.groupdict())
                break
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: {t('cli.heading.error')}: {message}\n")


class _Formatter(argparse.HelpFormatter):
    def add_usage(self, usage: str | None, actions: Any, groups: Any, prefix: str | None = None) -> None:
        super().add_usage(usage, actions, groups, prefix=f"{t('cli.heading.usage')}: " if prefix is None else prefix)


_ERRORS = [  # argparse's own error sentences (Python 3.11) and the catalog's words for them
    (r"the following arguments are required: (?P<names>.*)", "cli.error.required"),
    (r"unrecognized arguments: (?P<names>.*)", "cli.error.unrecognized"),
    (r"argument (?P<name>\S+): invalid choice: (?P<value>.*) \(choose from (?P<choices>.*)\)", "cli.error.choice"),
    (r"argument (?P<name>\S+): invalid int value: (?P<value>.*)", "cli.error.number"),
    (r"argument (?P<name>\S+): expected one argument", "cli.error.one_value"),
]


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="workbench", description=t("cli.help.description"))
    common = _Parser(add_help=False)  # only lends its arguments to the commands
    common.add_argument("--data", help=t("cli.help.data"))
    common.add_argument("--user", help=t("cli.help.user"))
    commands = parser.add_subparsers(dest="command", required=True, title=t("cli.heading.commands"))

    demo = commands.add_parser("demo", parents=[common], help=t("cli.help.demo"))
    demo.add_argument("--cases", type=int, default=2000, help=t("cli.help.cases"))
    demo.add_argument("--seed", type=int, default=2026, help=t("cli.help.seed"))
    demo.add_argument("--if-empty", action="store_true", help=t("cli.help.if_empty"))

    check = commands.add_parser("check", parents=[common], help=t("cli.help.check"))
    check.add_argument("--json", action="store_true", help=t("cli.help.json"))
    check.add_argument("--repair", action="store_true", help=t("cli.help.repair"))
    check.add_argument("--yes", action="store_true", help=t("cli.help.yes"))

    backup = commands.add_parser("backup", parents=[common], help=t("cli.help.backup"))
    backup.add_argument("--to", required=True, type=Path, help=t("cli.help.backup_to"))

    restore = commands.add_parser("restore", parents=[common], help=t("cli.help.restore"))
    restore.add_argument("file", type=Path, help=t("cli.help.restore_file"))

    export = commands.add_parser("export-citizen", parents=[common], help=t("cli.help.export"))
    export.add_argument("citizen_id", help=t("cli.help.citizen_id"))
    export.add_argument("--format", choices=("json", "csv"), default="json", help=t("cli.help.format"))
    export.add_argument("--to", type=Path, help=t("cli.help.export_to"))

    erase = commands.add_parser("erase-citizen", parents=[common], help=t("cli.help.erase"))
    erase.add_argument("citizen_id", help=t("cli.help.citizen_id"))

    extract = commands.add_parser("extract", parents=[common], help=t("cli.help.extract"))
    extract.add_argument("--k", type=int, default=5, help=t("cli.help.k"))

    users = commands.add_parser("users", help=t("cli.help.users"))
    users.add_argument("--data", help=t("cli.help.data"))
    actions = users.add_subparsers(dest="action", required=True, title=t("cli.heading.commands"))
    actions.add_parser("list", help=t("cli.help.users_list"))
    add = actions.add_parser("add", help=t("cli.help.users_add"))
    add.add_argument("id", help=t("cli.help.user_id"))
    add.add_argument("--name", required=True, help=t("cli.help.user_name"))
    add.add_argument("--role", action="append", required=True, help=t("cli.help.user_role"))
    add.add_argument("--site", action="append", default=[], help=t("cli.help.user_site"))
    add.add_argument("--language", default="da", help=t("cli.help.user_language"))
    remove = actions.add_parser("remove", help=t("cli.help.users_remove"))
    remove.add_argument("id", help=t("cli.help.user_id"))
    set_role = actions.add_parser("set-role", help=t("cli.help.users_set_role"))
    set_role.add_argument("id", help=t("cli.help.user_id"))
    set_role.add_argument("role", nargs="+", help=t("cli.help.user_role"))
    set_role.add_argument("--site", action="append", default=None, help=t("cli.help.user_sites"))

    serve = commands.add_parser("serve", help=t("cli.help.serve"))
    serve.add_argument("--data", help=t("cli.help.data"))
    serve.add_argument("--port", type=int, default=8866, help=t("cli.help.port"))
    serve.add_argument("--token", help=t("cli.help.token"))
    serve.add_argument("--open-browser", action="store_true", help=t("cli.help.open_browser"))
    serve.add_argument("--log", help=t("cli.help.log"))
    serve.add_argument("--user", help=t("cli.help.serve_user"))
    serve.add_argument("--pool-size", type=int, default=2, help=t("cli.help.pool_size"))
    serve.add_argument("--workdir", help=t("cli.help.workdir"))
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

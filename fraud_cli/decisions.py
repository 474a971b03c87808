"""`fraud policy` and `fraud lists`: the decision policy and its lists in the store, versioned like models."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fraud_model import policy_store
from fraud_model.errors import InputError
from fraud_model.store import Store, open_store


def add_parsers(commands: Any, add_store: Callable[..., None]) -> None:
    policy = commands.add_parser("policy", help="validate, publish, list, show and promote decision policies")
    add_store(policy)
    actions = policy.add_subparsers(dest="action", required=True, metavar="ACTION")
    validate = actions.add_parser("validate", help="check a policy file (exit 2 naming the rule and reason)")
    validate.add_argument("file", type=Path)
    publish = actions.add_parser("publish", help="check, publish and make a policy file current")
    publish.add_argument("file", type=Path)
    publish.add_argument("--no-promote", dest="promote", action="store_false", help="publish only")
    listing = actions.add_parser("list", help="published versions, oldest first; * marks the current one")
    current = actions.add_parser("current", help="print the current version (default: none published)")
    show = actions.add_parser("show", help="a version's policy (default: the current one)")
    show.add_argument("version", nargs="?")
    promote = actions.add_parser("promote", help="make a version current (also rolls back)")
    promote.add_argument("version")
    backtest = actions.add_parser(
        "backtest",
        help="what a policy would decide on labelled files, per rule and outcome, against the current one",
    )
    backtest.add_argument("policy", help="a policy file, or a published version (or 'default')")
    backtest.add_argument(
        "--data",
        action="append",
        required=True,
        metavar="URI",
        help="labelled PaySim-schema CSV(.gz)/Parquet files, directories or s3:// prefixes",
    )
    backtest.add_argument("--model", metavar="VERSION", help="model version (default: the current one)")
    backtest.add_argument(
        "--against", metavar="VERSION", help="policy to compare with (default: the current one)"
    )
    backtest.add_argument(
        "--stress",
        action="store_true",
        help="also decide the frauds changed as an adversary could (remainders, splits, rounding)",
    )
    backtest.add_argument("--json", action="store_true", help="the result as JSON")
    backtest.add_argument("--progress", action="store_true", help="progress bars while reading")
    for action in (validate, publish, listing, current, show, promote, backtest):
        add_store(action, after=True)
    policy.set_defaults(run=_policy)

    lists = commands.add_parser("lists", help="show and change the lists policies name (lists.NAME)")
    add_store(lists)
    actions = lists.add_subparsers(dest="action", required=True, metavar="ACTION")
    names = actions.add_parser("names", help="every list in the store")
    show_list = actions.add_parser("show", help="a list's values, one a line")
    show_list.add_argument("name")
    add = actions.add_parser("add", help="add values to a list (created if new)")
    remove = actions.add_parser("remove", help="remove values from a list")
    for change in (add, remove):
        change.add_argument("name")
        change.add_argument("values", nargs="+", metavar="VALUE")
    for action in (names, show_list, add, remove):
        add_store(action, after=True)
    lists.set_defaults(run=_lists)


def _policy(args: argparse.Namespace) -> int:
    store = open_store(args.store)
    if args.action == "backtest":
        return _backtest(args, store)
    if args.action in ("validate", "publish"):
        try:
            document = policy_store.parse(args.file.read_bytes())
        except OSError as exc:
            raise InputError(f"cannot read {args.file}: {exc.strerror}") from exc
        if args.action == "validate":
            from fraud_model.policy import compile_policy

            compiled = compile_policy(document)
            lists = list(compiled.lists)
            print(f"{args.file}: valid ({len(compiled.rules)} rules, {compiled.mode}, lists {lists})")
            return 0
        version = policy_store.publish_policy(store, document, make_current=args.promote)
        print(f"policy {version} published in {store.uri}" + (" and made current" if args.promote else ""))
    elif args.action == "list":
        current = policy_store.read_policy_pointer(store)
        versions = policy_store.list_policies(store)
        if not versions:
            print(f"no published policies in {store.uri}: the default policy serves", file=sys.stderr)
        for version in versions:
            print(f"{'*' if version == current else ' '} {version}")
    elif args.action == "current":
        print(policy_store.read_policy_pointer(store))
    elif args.action == "show":
        version = args.version or policy_store.read_policy_pointer(store)
        print(json.dumps(policy_store.load_policy(store, version)[1], indent=2))
    elif args.action == "promote":
        policy_store.promote_policy(store, args.version)
        print(f"policy {args.version} is now current in {store.uri}")
    return 0


def _lists(args: argparse.Namespace) -> int:
    store = open_store(args.store)
    if args.action == "names":
        for name in policy_store.list_names(store):
            print(name)
    elif args.action == "show":
        for value in sorted(policy_store.read_list(store, args.name)):
            print(value)
    else:
        change = {"add": args.values} if args.action == "add" else {"remove": args.values}
        values = policy_store.change_list(store, args.name, **change)
        print(f"list {args.name}: {len(values)} values")
    return 0


def _backtest(args: argparse.Namespace, store: Store) -> int:
    from fraud_model.policy import compile_policy
    from training_job.backtest import backtest, render_table

    path = Path(args.policy)
    if path.is_file():
        document = policy_store.parse(path.read_bytes())
        policy = compile_policy(document)
    elif path.suffix or "/" in args.policy:
        raise InputError(f"{args.policy}: no such policy file")
    else:
        policy, document = policy_store.load_policy(store, args.policy)
    result = backtest(policy, document, args.data, store_uri=store.uri, model_version=args.model,
                      against=args.against, progress=args.progress, stress=args.stress)  # fmt: skip
    print(json.dumps(result, indent=2) if args.json else render_table(result))
    return 0

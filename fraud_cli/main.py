"""`fraud`: the one command line for training, evaluating, serving, scoring and managing model versions.

Subcommands import their deployable lazily, so `fraud models` never pays for xgboost or FastAPI.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence

from fraud_model import artifact, constants
from fraud_model.errors import FraudError
from fraud_model.store import open_store

_STORE_HELP = (
    f"model store: a directory or s3://bucket[/prefix] (default: ${constants.MODEL_STORE_ENV}, ./model_store)"
)


def _add_store(parser: argparse.ArgumentParser, *, after: bool = False) -> None:
    """`--store`; with `after`, for an action's own parser: accepted after the action too, and when absent
    there it leaves the value given before the action (argparse would otherwise reset it to None)."""
    parser.add_argument(
        "--store", metavar="URI", help=_STORE_HELP, default=argparse.SUPPRESS if after else None
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fraud", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress at INFO level")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    from training_job import commands as training  # light: heavy training imports happen in run_*

    train = commands.add_parser("train", help="train, evaluate and publish a model (or start a remote run)")
    training.add_train_arguments(train)
    train.set_defaults(run=training.run_train)

    evaluate = commands.add_parser(
        "evaluate", help="score PaySim files with a published model and print metrics"
    )
    training.add_evaluate_arguments(evaluate)
    evaluate.set_defaults(run=training.run_evaluate)

    serve = commands.add_parser("serve", help="serve the API locally with uvicorn")
    _add_store(serve)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(run=_serve)

    predict = commands.add_parser("predict", help="score one JSON transaction or a file of them")
    _add_store(predict)
    predict.add_argument("--version", help="model version (default: the current one)")
    predict.add_argument("--explain", action="store_true", help="add the top feature contributions")
    source = predict.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "transaction", nargs="?", help="one transaction as JSON, e.g. '{\"amount\": 112.0, ...}'"
    )
    source.add_argument(
        "--file", metavar="PATH", help="JSON Lines, a JSON array, or a PaySim CSV ('-' = stdin)"
    )
    predict.set_defaults(run=_predict)

    models = commands.add_parser("models", help="list, show and promote model versions")
    _add_store(models)
    actions = models.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="every complete version, oldest first; * marks the current one")
    show = actions.add_parser("show", help="a version's metadata (default: the current one)")
    show.add_argument("version", nargs="?")
    current = actions.add_parser("current", help="print the current version")
    promote = actions.add_parser(
        "promote", help="load a version completely and make it current (also rolls back)"
    )
    promote.add_argument("version")
    for action in (listing, show, current, promote):  # `fraud models promote V --store URI` too
        _add_store(action, after=True)
    models.set_defaults(run=_models)

    from fraud_cli import decisions, records, score

    score.add_parser(commands, _add_store)
    decisions.add_parsers(commands, _add_store)
    records.add_parsers(commands, _add_store)

    generate = commands.add_parser("generate", help="write seeded PaySim-schema demo data")
    generate.add_argument("--rows", type=int, default=200_000)
    generate.add_argument("--fraud-rate", type=float, default=constants.NATURAL_FRAUD_RATE)
    generate.add_argument("--seed", type=int, default=7)
    generate.add_argument("--out", required=True, help="output .csv or .csv.gz")
    generate.set_defaults(run=_generate)
    return parser


def _serve(args: argparse.Namespace) -> int:
    from lambda_handler.local import serve

    serve(host=args.host, port=args.port, store_uri=args.store)
    return 0


def _predict(args: argparse.Namespace) -> int:
    from fraud_cli.predict import predict_command

    return predict_command(args)


def _models(args: argparse.Namespace) -> int:
    store = open_store(args.store)
    if args.action == "list":
        try:
            current = artifact.read_pointer(store)
        except FraudError:
            current = None
        versions = artifact.list_versions(store)
        if not versions:
            print(f"no model versions in {store.uri}", file=sys.stderr)
        for version in versions:
            print(f"{'*' if version == current else ' '} {version}")
    elif args.action == "current":
        print(artifact.read_pointer(store))
    elif args.action == "show":
        version = args.version or artifact.read_pointer(store)
        print(artifact.load_version(store, version).metadata.model_dump_json(indent=2))
    elif args.action == "promote":
        artifact.promote(store, args.version)
        print(f"{args.version} is now the current version in {store.uri}")
    return 0


def _generate(args: argparse.Namespace) -> int:
    from training_job.generator import generate, write_csv

    columns = generate(args.rows, fraud_rate=args.fraud_rate, seed=args.seed)
    path = write_csv(columns, args.out)
    print(json.dumps({"path": str(path), "rows": args.rows, "frauds": int(columns["isFraud"].sum())}))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s"
    )
    try:
        return int(args.run(args))
    except FraudError as exc:
        print(f"fraud {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"fraud {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())

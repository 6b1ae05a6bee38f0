"""Plumbing every spark-submit job shares: common options, one-line errors, JSON or human output.

A job prints its result on stdout (one JSON document with ``--json``) and,
on failure, exactly one line ``lakepkg: error: …`` on stderr with exit code 1
(what ``lakepkg`` itself prints), never a Python traceback — unless
``LAKEPKG_DEBUG=1`` asks for one. (spark-submit merges the Python driver's
stderr into its stdout, so both arrive there; ``lakepkg spark`` separates them.)
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Callable, Optional, Sequence

from lakepkg.errors import ConfigError, LakepkgError, one_line
from lakepkg.format.names import validate_package_name
from lakepkg.registry import Registry, open_registry
from lakepkg.write.publish import PublishResult

from lakepkg_spark_jobs.job_session import job_session

ERROR_PREFIX = "lakepkg: error: "


def add_common_options(parser: argparse.ArgumentParser, publishes: bool = True) -> None:
    """--registry, --metastore, --json (and --message/--tag for jobs that publish)."""
    parser.add_argument("--registry", help="registry location (path or s3://bucket/prefix); executors open it "
                                           "themselves (default $LAKEPKG_REGISTRY or $LAKEPKG_HOME/registry)")
    parser.add_argument("--metastore", default=os.environ.get("LAKEPKG_METASTORE"),
                        help="thrift://host:port of the Hive metastore (Hive support in the session)")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON document on stdout")
    if publishes:
        parser.add_argument("--message", "-m", default="", help="version message")
        parser.add_argument("--tag", action="append", default=[], help="also set this tag (repeatable)")
        parser.add_argument("--input", action="append", default=[],
                            help="a package version the run read (ns/name@hash), recorded in the run record (repeatable)")


def split_columns(text: Optional[str]) -> Optional[list[str]]:
    """``"a, b"`` → ``["a", "b"]``; None or blank → None."""
    if text is None:
        return None
    cols = [c.strip() for c in text.split(",") if c.strip()]
    return cols or None


def parse_names(specs: Sequence[str]) -> Optional[dict[str, str]]:
    """``["db.t=NAME", ...]`` → ``{"db.t": "NAME"}``."""
    out = {}
    for spec in specs:
        src, sep, name = spec.partition("=")
        if not sep or not src or not name:
            raise ConfigError(f"--name {spec!r}: use db.table=NAME")
        out[src] = name
    return out or None


def run_job(parser: argparse.ArgumentParser, action: Callable[[argparse.Namespace], Any],
            human: Callable[[Any], str], argv: Optional[Sequence[str]] = None) -> None:
    """Parse ``argv``, run ``action``, print its result; lakepkg errors end the process with one line."""
    args = parser.parse_args(argv)
    try:
        result = action(args)
    except LakepkgError as exc:
        print(ERROR_PREFIX + one_line(exc, 1000), file=sys.stderr, flush=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        print(ERROR_PREFIX + "interrupted; nothing was published", file=sys.stderr, flush=True)
        sys.exit(130)
    except Exception as exc:
        if os.environ.get("LAKEPKG_DEBUG"):
            raise
        print(ERROR_PREFIX + f"unexpected {type(exc).__name__}: {one_line(exc, 400)} (set LAKEPKG_DEBUG=1 for a "
              f"traceback and report it)", file=sys.stderr, flush=True)
        sys.exit(2)
    if args.json:
        sys.stdout.write(json.dumps(result.to_json(), default=str, sort_keys=True) + "\n")
    else:
        sys.stdout.write(human(result) + "\n")
    sys.stdout.flush()


SnapshotStep = Callable[[Any, Registry], PublishResult]  # (spark session, registry) -> result


def run_snapshot_job(parser: argparse.ArgumentParser, prepare: Callable[[argparse.Namespace], SnapshotStep],
                     table_line: Callable[[str, dict[str, Any]], str], argv: Optional[Sequence[str]] = None, *,
                     hive_session: bool = False) -> None:
    """The scaffold of a snapshot job: ``prepare(args)`` checks the arguments (before any session
    starts) and returns the step; the step runs with the registry and a session named after
    ``--to`` (with Hive support at ``--metastore`` when ``hive_session``), which is stopped after.
    The human output is the publish headline and ``table_line(name, facts)`` per table."""
    def action(args: argparse.Namespace) -> PublishResult:
        step = prepare(args)
        validate_package_name(args.to)
        reg = open_registry(args.registry)
        spark = job_session(f"lakepkg snapshot {args.to}", args.metastore if hive_session else None)
        try:
            return step(spark, reg)
        finally:
            stop_quietly(spark)

    def human(res: PublishResult) -> str:
        return "\n".join([res.headline(), *(f"  {table_line(n, t)}" for n, t in res.tables.items())])

    run_job(parser, action, human, argv)


def stop_quietly(spark: Any) -> None:
    """Stop a session the job created (errors while stopping do not hide the job's own result)."""
    try:
        spark.stop()
    except Exception:
        pass

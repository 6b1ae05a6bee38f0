"""``lakepkg spark snapshot-query | snapshot-table | materialise``: build and run the spark-submit jobs.

Each command checks what it can without Spark (names, the package reference
for ``materialise``), then runs ``spark-submit spark_jobs/<job>.py …`` with
the registry resolved here, so driver and executors use the same one.
``--show-command`` (formerly ``--print``, still accepted for a release) shows the
command (and the environment it needs) instead of running it, to paste into a scheduler. ``--master`` and ``--conf`` go to
spark-submit; Spark's log goes to stderr, the job's result to stdout.
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from typing import Any, List, Optional

import typer

from lakepkg.cli._common import (InputOpt, JsonOpt, MessageOpt, MetastoreOpt, OldPrintFlagOpt, RegistryOpt,
                                 S3EndpointOpt, ShowCommandOpt, TagOpt, connection_options, registry, renamed)
from lakepkg.cli.output import Output, make_output

spark_app = typer.Typer(help="Distributed snapshots and materialising with spark-submit (jobs in spark_jobs/).",
                        no_args_is_help=True)

ERROR_PREFIX = "lakepkg: error: "
JOBS_PACKAGE = "lakepkg_spark_jobs"
JOB_SCRIPTS = {"snapshot-query": "query_snapshot.py", "snapshot-table": "table_snapshot.py",
               "materialise": "materialise.py"}  # the scripts spark_jobs/__init__.py lists as JOBS
MasterOpt = typer.Option(None, "--master", help="Spark master for spark-submit, e.g. yarn, local[4] (default: spark-submit's).")
ConfOpt = typer.Option([], "--conf", help="Spark setting KEY=VALUE passed to spark-submit. Repeatable.")


def spark_home() -> str:
    """``$SPARK_HOME``, else the Spark bundled in the installed pyspark wheel."""
    from lakepkg.errors import ConfigError

    if os.environ.get("SPARK_HOME"):
        return os.environ["SPARK_HOME"]
    try:
        import pyspark
    except ImportError:
        raise ConfigError("Spark is not installed: pip install 'lakepkg[spark]', or set SPARK_HOME") from None
    return os.path.dirname(pyspark.__file__)


def submit_command(job: str, job_args: List[str], master: Optional[str], conf: List[str]) -> tuple[list[str], dict[str, str]]:
    """(argv, environment additions) of ``spark-submit`` running job ``job`` with ``job_args``."""
    from lakepkg.errors import ConfigError

    home = spark_home()
    submit = os.path.join(home, "bin", "spark-submit")
    if not os.path.exists(submit):
        raise ConfigError(f"spark-submit not found at {submit}; set SPARK_HOME to a Spark installation")
    script = job_script(job)
    cmd = [submit]
    if master:
        cmd += ["--master", master]
    for c in conf:
        if "=" not in c:
            raise ConfigError(f"--conf {c!r}: use KEY=VALUE")
        cmd += ["--conf", c]
    if not any(c.startswith("spark.log.level=") for c in conf):
        cmd += ["--conf", "spark.log.level=WARN"]
    env = {"SPARK_HOME": home, "PYSPARK_PYTHON": os.environ.get("PYSPARK_PYTHON") or sys.executable}
    conn = connection_options()  # --endpoint-url/--region/--profile reach the job as boto3 reads them
    for opt, var in (("endpoint_url", "LAKEPKG_S3_ENDPOINT_URL"), ("region", "AWS_DEFAULT_REGION"), ("profile", "AWS_PROFILE")):
        if conn.get(opt):
            env[var] = conn[opt]
    return cmd + [script] + job_args, env


def job_script(job: str) -> str:
    """The file of job ``job`` in the installed ``lakepkg_spark_jobs`` package (found, not imported:
    the core does not import the jobs)."""
    import importlib.util

    from lakepkg.errors import ConfigError

    spec = importlib.util.find_spec(JOBS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(f"the Spark jobs ({JOBS_PACKAGE}) are not installed; pip install 'lakepkg[spark]'")
    return os.path.join(list(spec.submodule_search_locations)[0], JOB_SCRIPTS[job])


def _forward(stream: Any) -> None:
    for line in stream:
        sys.stderr.write(line)
        sys.stderr.flush()


def job_output(out: str) -> tuple[Optional[str], list[str]]:
    """(the job's error message or None, the other lines) of a job's stdout.

    spark-submit runs the Python driver with its stderr merged into stdout, so the job's
    one-line error arrives on stdout, among its result and any warnings."""
    error = None
    rest = []
    for line in out.splitlines():
        if line.startswith(ERROR_PREFIX):
            error = line[len(ERROR_PREFIX):].strip()
        elif line.strip():
            rest.append(line)
    return error, rest


def run_job(job: str, job_args: List[str], master: Optional[str], conf: List[str], show: bool, out: Output) -> None:
    """Print or run the job; relay its result; its one-line error becomes this command's error."""
    from lakepkg.errors import LakepkgError, SourceError

    cmd, env = submit_command(job, job_args + out.job_args(), master, conf)
    if show:
        out.job_command(cmd, env)
        return
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **env})
    t = threading.Thread(target=_forward, args=(proc.stderr,), daemon=True)
    t.start()
    stdout = proc.stdout.read() if proc.stdout else ""
    rc = proc.wait()
    t.join()
    error, lines = job_output(stdout)
    if error is not None:
        raise LakepkgError(error)
    if rc != 0:
        sys.stderr.write("".join(l + "\n" for l in lines))
        raise SourceError(f"spark-submit exited with code {rc} before the job reported a result; see Spark's log above")
    out.job_result(lines)


def _table_names(specs: List[str]) -> list[str]:
    """``--table NAME=db.table`` specs as the job's ``db.table=NAME``."""
    from lakepkg.errors import ConfigError

    out = []
    for spec in specs:
        n, sep, src = spec.partition("=")
        if not sep or not n or not src:
            raise ConfigError(f"--table {spec!r}: use NAME=db.table, e.g. --table orders=sales.orders")
        out.append(f"{src}={n}")
    return out


def _show(show: bool, old_print: bool) -> bool:
    return bool(renamed(show, old_print, "--print (spark commands)", "--show-command"))


def _registry_arg(reg: Optional[str]) -> list[str]:
    from lakepkg.registry.location import location_text

    return ["--registry", location_text(reg)]


def _opt(flag: str, value: Any) -> list[str]:
    return [] if value is None or value == "" else [flag, str(value)]


@spark_app.command("snapshot-query")
def snapshot_query(
    to: str = typer.Option(..., "--to", help="Package name to publish, namespace/name."),
    query: Optional[str] = typer.Option(None, "--query", "-q", help="Spark SQL query whose result is snapshotted."),
    query_file: Optional[str] = typer.Option(None, "--query-file", help="File holding the Spark SQL query."),
    table_name: str = typer.Option("result", "--table-name", help="Name of the table in the package."),
    key: Optional[str] = typer.Option(None, "--key", help="Comma-separated key columns (default: every flat column)."),
    buckets: int = typer.Option(32, "--buckets", help="Fixed number of hash buckets; keep it fixed for a package."),
    chunk_mask_bits: Optional[int] = typer.Option(None, "--chunk-mask-bits", help="Content-defined chunking: mask bits (default 14)."),
    chunk_min_rows: Optional[int] = typer.Option(None, "--chunk-min-rows", help="Content-defined chunking: minimum rows (default 2048)."),
    chunk_max_rows: Optional[int] = typer.Option(None, "--chunk-max-rows", help="Content-defined chunking: maximum rows (default 131072)."),
    metastore: Optional[str] = MetastoreOpt,
    message: str = MessageOpt,
    tag: List[str] = TagOpt,
    input: List[str] = InputOpt,
    master: Optional[str] = MasterOpt,
    conf: List[str] = ConfOpt,
    show: bool = ShowCommandOpt,
    old_print: bool = OldPrintFlagOpt,
    reg: Optional[str] = RegistryOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Snapshot a Spark SQL query result with spark-submit: executors write fragments, the driver commits."""
    show = _show(show, old_print)
    from lakepkg.errors import ConfigError
    from lakepkg.format.names import validate_package_name, validate_table_name

    validate_package_name(to)
    validate_table_name(table_name)
    if bool(query) == bool(query_file):
        raise ConfigError("give the query as --query 'SELECT ...' or --query-file FILE (one of them)")
    if buckets < 1:
        raise ConfigError("--buckets must be at least 1")
    args = ["--to", to, "--table-name", table_name, "--buckets", str(buckets)]
    args += _opt("--query", query) + _opt("--query-file", os.path.abspath(query_file) if query_file else None)
    args += _opt("--key", key) + _opt("--chunk-mask-bits", chunk_mask_bits) + _opt("--chunk-min-rows", chunk_min_rows)
    args += _opt("--chunk-max-rows", chunk_max_rows) + _opt("--metastore", metastore) + _opt("--message", message)
    for flag, values in (("--tag", tag), ("--input", input)):
        args += [a for v in values for a in (flag, v)]
    run_job("snapshot-query", args + _registry_arg(reg), master, conf, show, make_output(as_json))


@spark_app.command("snapshot-table")
def snapshot_table(
    tables: List[str] = typer.Argument(..., help="Tables as database.table, or patterns like 'sales.*'."),
    to: str = typer.Option(..., "--to", help="Package name to publish, namespace/name."),
    metastore: Optional[str] = MetastoreOpt,
    where: Optional[str] = typer.Option(None, "--where", help="Partition filter pushed to the metastore."),
    table: List[str] = typer.Option([], "--table", "-t", help="NAME=db.table: the package table name for one table (as `snapshot sql --table`). Repeatable."),
    name: List[str] = typer.Option([], "--name", hidden=True, help="db.table=NAME: deprecated spelling of --table NAME=db.table."),
    full: bool = typer.Option(False, "--full", help="Read every file again instead of reusing unchanged files."),
    s3_endpoint: Optional[str] = S3EndpointOpt,
    slices: Optional[int] = typer.Option(None, "--slices", help="Spark tasks sharing the files (default: 2 x parallelism)."),
    message: str = MessageOpt,
    tag: List[str] = TagOpt,
    input: List[str] = InputOpt,
    master: Optional[str] = MasterOpt,
    conf: List[str] = ConfOpt,
    show: bool = ShowCommandOpt,
    old_print: bool = OldPrintFlagOpt,
    reg: Optional[str] = RegistryOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Snapshot Hive metastore tables with spark-submit: the same package as `lakepkg snapshot hive`, files copied by executors."""
    show = _show(show, old_print)
    from lakepkg.errors import ConfigError
    from lakepkg.format.names import validate_package_name

    validate_package_name(to)
    if not metastore:
        raise ConfigError("give --metastore thrift://host:9083 (or set LAKEPKG_METASTORE)")
    args = list(tables) + ["--to", to, "--metastore", metastore]
    name = _table_names(table) + list(renamed([], name, "--name db.table=NAME", "--table NAME=db.table") or [])
    args += _opt("--where", where) + _opt("--s3-endpoint", s3_endpoint) + _opt("--slices", slices)
    args += _opt("--message", message) + (["--full"] if full else [])
    for flag, values in (("--name", name), ("--tag", tag), ("--input", input)):
        args += [a for v in values for a in (flag, v)]
    run_job("snapshot-table", args + _registry_arg(reg), master, conf, show, make_output(as_json))


@spark_app.command("materialise")
def materialise(
    ref: str = typer.Argument(..., help="Package table, ns/name[@hash|:tag]/TABLE (or ns/name[@hash|:tag] with --table)."),
    table: Optional[str] = typer.Option(None, "--table", "-t", help="Table of the package."),
    location: str = typer.Option(..., "--location", help="Folder to write the Parquet table to (path or URI Spark can write)."),
    register: Optional[str] = typer.Option(None, "--register", help="Also create this catalog table, database.table (needs --metastore)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace files already at --location."),
    metastore: Optional[str] = MetastoreOpt,
    master: Optional[str] = MasterOpt,
    conf: List[str] = ConfOpt,
    show: bool = ShowCommandOpt,
    old_print: bool = OldPrintFlagOpt,
    reg: Optional[str] = RegistryOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Write a package table as a partitioned Parquet table with spark-submit, optionally registered in the catalog."""
    show = _show(show, old_print)
    from lakepkg.errors import ConfigError
    from lakepkg.api import load_table
    from lakepkg.source.filesystems import location_uri

    if register and not metastore:
        raise ConfigError(f"--register {register} needs a catalog: give --metastore thrift://host:9083")
    if not show:
        load_table(ref, table, registry(reg, create=False))  # a missing package, version or table: fail before Spark starts
    args = [ref, "--location", location_uri(location)] + _opt("--table", table) + _opt("--register", register)
    args += _opt("--metastore", metastore) + (["--overwrite"] if overwrite else [])
    run_job("materialise", args + _registry_arg(reg), master, conf, show, make_output(as_json))


def register(app: typer.Typer, snapshot_app: typer.Typer) -> None:
    app.add_typer(spark_app, name="spark")

"""The Spark side of a job's driver: the session, and the check that executors see the registry.

``job_session`` builds (or reuses) the SparkSession a spark-submit job runs
in; ``--metastore thrift://…`` turns on Hive support against that metastore.
``check_executors`` runs one tiny task per executor slot before any real
work: each opens the registry's object store itself and looks for a probe
object the driver just stored, so a registry executors cannot reach (an S3
endpoint or credentials only the driver has, a local folder that is not on a
shared file system) fails in seconds with a message saying what executors
need, instead of after the data has been read.
"""
from __future__ import annotations

from typing import Any, Optional

from lakepkg.errors import LakepkgError, StoreUnavailableError
from lakepkg.registry import Registry

from lakepkg_spark_jobs.executor_tasks import Access, RegistryProbe
from lakepkg_spark_jobs.job_errors import spark_call

#: pyspark loggers that print a JVM stack trace for every query error
QUIET_LOGGERS = ("SQLQueryContextLogger", "DataFrameQueryContextLogger")
#: the bytes of the probe object (content-addressed: always the same object, harmless, removed by gc)
PROBE = b"lakepkg: spark executors probe this object to check they see the registry\n"


def job_session(app_name: str, metastore: Optional[str] = None) -> Any:
    """A SparkSession for a job; with ``metastore`` (``thrift://host:port``) it has Hive support there."""
    import logging

    from pyspark.sql import SparkSession

    for name in QUIET_LOGGERS:  # they log each analysis error with its JVM stack; the job reports it in one line
        logging.getLogger(name).disabled = True
    builder = SparkSession.builder.appName(app_name)
    if metastore:
        builder = builder.config("spark.hadoop.hive.metastore.uris", metastore).enableHiveSupport()
    session = spark_call("starting Spark", builder.getOrCreate)
    return session


def has_catalog(spark: Any) -> bool:
    """True when the session keeps tables in a persistent (Hive) catalog."""
    return str(spark.conf.get("spark.sql.catalogImplementation", "in-memory")).lower() == "hive"


def registry_access(registry: Registry) -> Access:
    """What executors need to open ``registry`` themselves: its location (the local folder or
    ``s3://bucket/prefix``) and the S3 endpoint the driver uses. Credentials are never passed:
    executors take theirs from their own AWS environment or instance role."""
    endpoint = registry.store.open_options().get("endpoint_url")
    return str(registry.location), ((("endpoint_url", str(endpoint)),) if endpoint else ())


def check_executors(spark: Any, registry: Registry) -> None:
    """Fail early, in one line, when executors cannot open the registry's store and see its objects."""
    access = registry_access(registry)
    location = access[0]
    probe = registry.store.put_bytes(PROBE)
    sc = spark.sparkContext
    n = max(1, min(int(sc.defaultParallelism), 64))
    try:
        seen = spark_call("checking that executors reach the registry",
                          lambda: sc.parallelize(range(n), n).mapPartitions(RegistryProbe(access, probe)).collect())
    except LakepkgError as exc:
        raise StoreUnavailableError(
            f"Spark executors cannot use the registry {location} ({exc}); executors store fragments themselves, "
            f"so they need what the driver has: network access to the store and AWS "
            f"credentials (an instance role, or the AWS_* environment, e.g. through spark.executorEnv)") from None
    if not all(seen):
        raise StoreUnavailableError(
            f"Spark executors do not see the objects of the registry {location}; a local registry must be on a "
            f"file system every executor shares (or use an s3:// registry)")

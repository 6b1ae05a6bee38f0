"""Driver side of error handling: Spark's exceptions become one-line lakepkg errors.

A task that failed on purpose raised :class:`~lakepkg_spark_jobs.executor_tasks.TaskError`;
its marker survives in Spark's error text (inside the Python worker's
traceback), so :func:`from_spark` finds it and raises the original lakepkg
error class with the original message. Anything else Spark raises (analysis
errors in a query, a missing table, executors that cannot import lakepkg) is
reduced to its first meaningful line.
"""
from __future__ import annotations

import re
from typing import Any, Callable, TypeVar

from lakepkg import errors
from lakepkg.errors import ConfigError, LakepkgError, SourceError, one_line

from lakepkg_spark_jobs.executor_tasks import MARKER

T = TypeVar("T")

_TASK = re.compile(r"\[" + re.escape(MARKER) + r":(\w*)\] ([^\n]*)")


def _first_line(text: str) -> str:
    for line in text.splitlines():
        line = line.strip().lstrip(":").strip()
        if not line or line.startswith("An error occurred while calling") or line.startswith("JVM stacktrace"):
            continue
        return line
    return text.strip()


def from_spark(exc: BaseException, what: str) -> LakepkgError:
    """The lakepkg error for an exception Spark raised while doing ``what``."""
    text = str(exc)
    m = _TASK.search(text)
    if m:
        cls = getattr(errors, m.group(1), None) if m.group(1) else None
        if not (isinstance(cls, type) and issubclass(cls, LakepkgError)):
            cls = SourceError
        return cls(one_line(m.group(2), 500))
    if re.search(r"No module named '(lakepkg|lakepkg_spark_jobs|lakepkg_connectors)", text):
        return ConfigError(f"{what}: Spark executors cannot import lakepkg; install the same lakepkg version on "
                           f"every executor (or ship it with --py-files)")
    if "No FileSystem for scheme" in text:
        scheme = re.search(r'No FileSystem for scheme "?([\w.+-]+)', text)
        return ConfigError(f"{what}: this Spark cannot use {scheme.group(1) + ':' if scheme else 'that'} locations "
                           f"(no Hadoop file system for it, e.g. the hadoop-aws jars for s3a://); use a path "
                           f"Spark can write, or add the jars with --packages")
    return SourceError(f"{what}: Spark failed: {one_line(_first_line(text), 400)}")


def spark_call(what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ``fn`` (anything that makes Spark work); its failures become one-line lakepkg errors."""
    try:
        return fn(*args, **kwargs)
    except LakepkgError:
        raise
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # Py4JJavaError, AnalysisException, PythonException, ...
        raise from_spark(exc, what) from None

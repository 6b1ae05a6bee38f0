"""lakepkg as an Apache Airflow provider: pin what a DAG run wrote as one package version.

Registered through the ``apache_airflow_provider`` entry point (:func:`get_provider_info`), so
Airflow lists the ``lakepkg`` connection type and the package Asset URI scheme.

* :mod:`lakepkg.airflow.hooks` — :class:`~lakepkg.airflow.hooks.LakepkgHook`, a registry from a
  ``lakepkg`` connection;
* :mod:`lakepkg.airflow.operators` — :class:`~lakepkg.airflow.operators.LakepkgSnapshotOperator`
  (sources across systems → one version, write-audit-publish, lineage) and
  :class:`~lakepkg.airflow.operators.LakepkgBuildOperator`;
* :mod:`lakepkg.airflow.sensors` — :class:`~lakepkg.airflow.sensors.LakepkgVersionSensor`;
* :mod:`lakepkg.airflow.assets` — ``lakepkg://<registry id>/<ns>/<name>`` Assets and
  :func:`~lakepkg.airflow.assets.package_from_context` for the DAG an Asset triggered.

Importing this package does not import Airflow; the modules above do. See docs/airflow.md.
"""
from __future__ import annotations

from typing import Any

__all__ = ["get_provider_info"]


def get_provider_info() -> dict[str, Any]:
    """The provider description Airflow's providers manager reads (no Airflow import)."""
    from lakepkg import __version__

    return {
        "package-name": "lakepkg",
        "name": "lakepkg",
        "description": "Versioned, content-addressed table snapshots: pin what a DAG run wrote as one package version.",
        "versions": [__version__],
        "integrations": [{"integration-name": "lakepkg", "tags": ["software"]}],
        "operators": [{"integration-name": "lakepkg", "python-modules": ["lakepkg.airflow.operators"]}],
        "sensors": [{"integration-name": "lakepkg", "python-modules": ["lakepkg.airflow.sensors"]}],
        "hooks": [{"integration-name": "lakepkg", "python-modules": ["lakepkg.airflow.hooks"]}],
        "triggers": [{"integration-name": "lakepkg", "python-modules": ["lakepkg.airflow.triggers"]}],
        "connection-types": [{"connection-type": "lakepkg", "hook-class-name": "lakepkg.airflow.hooks.LakepkgHook",
                              "hook-name": "lakepkg registry"}],
        "asset-uris": [{"schemes": ["lakepkg"], "handler": "lakepkg.airflow.assets.sanitize_uri",
                        "factory": "lakepkg.airflow.assets.create_asset",
                        "to_openlineage_converter": "lakepkg.airflow.assets.convert_asset_to_openlineage"}],
    }

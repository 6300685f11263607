"""Fetching a router from the MLflow registry within a time limit, and naming the version that was fetched.

MLflow retries an HTTP request up to ``MLFLOW_HTTP_REQUEST_MAX_RETRIES`` times with exponential backoff and
waits ``MLFLOW_HTTP_REQUEST_TIMEOUT`` seconds for each answer (7 retries and 120 s by default in MLflow 3):
a tracking server that is down kept ``Router.load("models:/...")`` busy for minutes. Here every registry
call runs with :data:`REGISTRY_HTTP_DEFAULTS` for the variables the user has not set (theirs win), and an
HTTP tracking server is first asked for a TCP connection with a :data:`CONNECT_TIMEOUT_S` limit, so a closed
port or an unreachable host fails at once with one error that names the URI and what to check.

MLflow is imported only inside these functions: they run while loading, never on the decision path.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from router._exceptions import ArtifactError
from router._extras import MissingExtraError, require
from router._paths import default_tracking_uri

#: MLflow's HTTP settings while the router talks to the registry, unless the environment sets them: one
#: retry, a short backoff and a 3 s answer limit keep a failed load under 10 s.
REGISTRY_HTTP_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "0.2",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "3",
}
#: How long the reachability check waits for a TCP connection to an HTTP tracking server.
CONNECT_TIMEOUT_S = 3.0
#: Environment changes are process-wide: one registry call at a time sets and restores them.
_ENV_LOCK = threading.RLock()


@dataclass(frozen=True)
class RegistryRef:
    """A ``models:/`` URI taken apart: the registered name and either an alias or a version."""

    name: str
    alias: str | None
    version: str | None

    @classmethod
    def parse(cls, uri: str) -> RegistryRef | None:
        """The parts of ``models:/NAME@ALIAS`` or ``models:/NAME/VERSION``; None for any other URI."""
        if not uri.startswith("models:/"):
            return None
        rest = uri[len("models:/") :].strip("/")
        if "@" in rest:
            name, alias = rest.rsplit("@", 1)
            return cls(name, alias, None) if name and alias else None
        name, _, version = rest.partition("/")
        return cls(name, None, version) if name and version.isdigit() else None

    def pinned(self, version: str) -> str:
        """The URI of one version of this model (what a refresh downloads, so version and files agree)."""
        return f"models:/{self.name}/{version}"


@contextmanager
def registry_calls() -> Iterator[Any]:
    """Import MLflow, point it at the tracking store, and bound its HTTP retries and timeouts.

    Yields the ``mlflow`` module. Unless the process or the environment names a tracking server, the
    embedded store training writes to by default is read (not MLflow's own default, ./mlflow.db of the
    working directory); it is set for the process, as training does, because MLflow's registry look-up
    ignores a per-call registry URI. A tracking server that cannot be reached raises ``ArtifactError``.
    """
    named = os.environ.get("MLFLOW_TRACKING_URI")
    if named and "mlflow" not in sys.modules:
        check_reachable(named)  # before importing MLflow (seconds): a server that is down fails at once
    try:
        require("mlflow", extra="mlflow")
    except MissingExtraError as exc:  # an ArtifactError: Router.load falls back, as for any other
        raise ArtifactError(f"Loading from the MLflow registry needs mlflow: {exc}") from None
    import mlflow  # only here: fetching from a registry, never while deciding

    if not mlflow.tracking.is_tracking_uri_set():
        mlflow.set_tracking_uri(default_tracking_uri())
    check_reachable(mlflow.get_tracking_uri())
    with _ENV_LOCK:
        saved = {key: os.environ.get(key) for key in REGISTRY_HTTP_DEFAULTS}
        for key, value in REGISTRY_HTTP_DEFAULTS.items():
            os.environ.setdefault(key, value)
        try:
            yield mlflow
        finally:
            for key, old in saved.items():
                if old is None:
                    os.environ.pop(key, None)


def check_reachable(tracking_uri: str) -> None:
    """Refuse an HTTP(S) tracking server that does not accept a TCP connection within the limit."""
    parts = urlsplit(tracking_uri)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return  # a local store (sqlite:, file:, a path): nothing to reach
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as exc:
        reason = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
        raise ArtifactError(
            f"Cannot reach the MLflow tracking server at {tracking_uri} ({reason} after at most "
            f"{CONNECT_TIMEOUT_S:.0f} s). Check that the server is running and that MLFLOW_TRACKING_URI "
            "names it; or load a local artifact directory instead."
        ) from None


def alias_version(ref: RegistryRef) -> str:
    """The version number the registry's alias points at now (one small request)."""
    if ref.version is not None:
        return ref.version
    with registry_calls() as mlflow:
        try:
            found = mlflow.MlflowClient().get_model_version_by_alias(ref.name, ref.alias)
        except ArtifactError:
            raise
        except Exception as exc:  # MlflowException and the HTTP errors under it
            raise ArtifactError(
                f"Cannot resolve models:/{ref.name}@{ref.alias} in {mlflow.get_tracking_uri()}: "
                f"{_first_line(exc)}. Check the model name and alias (router experiments promote sets "
                "the champion alias)."
            ) from exc
    return str(found.version)


def download(uri: str) -> Path:
    """Fetch a ``models:/`` or ``runs:/`` URI's files to a local directory."""
    with registry_calls() as mlflow:
        try:
            return Path(mlflow.artifacts.download_artifacts(artifact_uri=uri))
        except Exception as exc:  # mlflow raises several unrelated types for a missing model
            raise ArtifactError(
                f"Cannot fetch {uri!r} from MLflow at {mlflow.get_tracking_uri()}: {_first_line(exc)}. "
                "Check the URI and MLFLOW_TRACKING_URI."
            ) from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__

"""Trained-router artifacts: plain arrays and JSON metadata that load without executing code.

Layout of an artifact directory::

    router.npz       numpy arrays only, read with allow_pickle=False (no code can run on load)
    metadata.json    format and feature versions, the SHA-256 of router.npz, library versions,
                     training-data identity, metrics, the catalog and estimator configuration

Loading checks, in order: both files exist, the metadata parses, the format and feature versions are ones
this code reads, the arrays' hash matches the one recorded (so an edited or swapped file is refused), and
the arrays hold what the metadata promises. Any failure raises ``ArtifactError`` naming what is wrong.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from router._exceptions import ArtifactError
from router.learned.features import FEATURE_VERSION

FORMAT_VERSION = 1
ARRAYS = "router.npz"
METADATA = "metadata.json"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def save_artifact(directory: str | Path, arrays: dict[str, np.ndarray], metadata: dict[str, Any]) -> Path:
    """Write an artifact; files are written under temporary names and renamed, so a crash leaves no half."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tmp_arrays = directory / (ARRAYS + ".tmp.npz")
    np.savez(tmp_arrays, **arrays)  # type: ignore[arg-type]  # numpy's stub types only allow_pickle
    meta = {
        **metadata,
        "format_version": FORMAT_VERSION,
        "feature_version": FEATURE_VERSION,
        "arrays_sha256": _sha256(tmp_arrays),
    }
    tmp_meta = directory / (METADATA + ".tmp")
    tmp_meta.write_text(json.dumps(meta, indent=2, sort_keys=True, default=str))
    os.replace(tmp_arrays, directory / ARRAYS)
    os.replace(tmp_meta, directory / METADATA)
    return directory


def load_artifact(directory: str | Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read and verify an artifact; raises ArtifactError with the reason when it cannot be trusted."""
    directory = Path(directory)
    arrays_path, meta_path = directory / ARRAYS, directory / METADATA
    if not directory.is_dir():
        raise ArtifactError(f"No router artifact at {str(directory)!r}: not a directory.")
    for path in (arrays_path, meta_path):
        if not path.is_file():
            raise ArtifactError(f"Router artifact {str(directory)!r} is incomplete: {path.name} is missing.")
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"Router artifact metadata {str(meta_path)!r} is not valid JSON: {exc}") from exc
    if not isinstance(meta, dict):
        raise ArtifactError(f"Router artifact metadata {str(meta_path)!r} must be a JSON object.")
    if meta.get("format_version") != FORMAT_VERSION:
        raise ArtifactError(
            f"Router artifact format {meta.get('format_version')!r} is not supported; this version reads "
            f"format {FORMAT_VERSION}. Retrain with this version (router train)."
        )
    if meta.get("feature_version") != FEATURE_VERSION:
        raise ArtifactError(
            f"Router artifact was trained with feature version {meta.get('feature_version')!r}; this version "
            f"computes features version {FEATURE_VERSION!r}. Retrain with this version (router train)."
        )
    actual = _sha256(arrays_path)
    if actual != meta.get("arrays_sha256"):
        raise ArtifactError(
            f"Router artifact {str(arrays_path)!r} does not match its recorded hash (expected "
            f"{meta.get('arrays_sha256')!r}, found {actual!r}): it was modified or replaced; "
            "refusing to load."
        )
    try:
        with np.load(arrays_path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"Router artifact arrays {str(arrays_path)!r} cannot be read: {exc}") from exc
    return arrays, meta

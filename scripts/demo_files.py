"""Which files `make demo` wrote, so that a second run removes those and nothing else.

The demo writes into the data directory (``./.router`` by default), where the user's own work goes too:
``router train`` adds runs to the same MLflow store and models beside the demo's, ``router logs import``
adds rows to the same ledger. So the demo lists every file it wrote, with its SHA-256, in a manifest
(:data:`MANIFEST`) when it ends. A later run may reuse a directory only if it is empty, or if every file in
it is listed and unchanged; it then removes exactly those files (and the directories they leave empty),
never a whole directory. Anything else (a new file, a changed ledger or store) is the user's: the demo goes
to ``demo/`` inside the data directory instead, and if that one holds someone's files too, it stops.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

MANIFEST = ".made-by-make-demo"  # in a directory the demo wrote; the next `make demo` may empty it


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def files_under(root: Path) -> list[Path]:
    """Every file (and symbolic link) below ``root``, as paths relative to it, the manifest left out."""
    return sorted(
        p.relative_to(root)
        for p in root.rglob("*")
        if (p.is_file() or p.is_symlink()) and p.relative_to(root) != Path(MANIFEST)
    )


def foreign_files(root: Path) -> list[Path]:
    """The files in ``root`` the last demo did not write, or changed since (relative paths); empty when
    ``root`` is absent or empty, or holds only an unchanged demo's files."""
    if not root.exists():
        return []
    present = files_under(root)
    manifest = root / MANIFEST
    listed: dict[str, str] = {}
    if manifest.is_file():
        try:
            listed = json.loads(manifest.read_text())["files"]
        except (ValueError, KeyError, TypeError):
            listed = {}  # unreadable: nothing counts as the demo's
    return [
        p
        for p in present
        if listed.get(p.as_posix()) is None or p.is_symlink() or listed[p.as_posix()] != _sha256(root / p)
    ]


def remove_demo_files(root: Path) -> int:
    """Remove the files the manifest lists (call only when :func:`foreign_files` is empty), then the
    directories they leave empty, then the manifest; returns how many files were removed."""
    manifest = root / MANIFEST
    if not manifest.is_file():
        return 0
    listed = json.loads(manifest.read_text())["files"]
    removed = 0
    parents: set[Path] = set()
    for relative in listed:
        path = root / relative
        if path.is_file() and not path.is_symlink():
            path.unlink()
            removed += 1
            parents.update(p for p in path.parents if p != root and root in p.parents)
    for directory in sorted(parents, key=lambda p: len(p.parts), reverse=True):
        if directory.is_dir() and not any(directory.iterdir()):
            directory.rmdir()  # rmdir, never rmtree: a directory with anything left in it stays
    manifest.unlink()
    return removed


def write_manifest(root: Path) -> int:
    """List every file now in ``root`` (which the demo started empty) as the demo's; returns the count."""
    files = {p.as_posix(): _sha256(root / p) for p in files_under(root) if not (root / p).is_symlink()}
    (root / MANIFEST).write_text(
        json.dumps(
            {
                "written_by": "make demo (scripts/demo.py); the next make demo removes these files only if "
                "they are all unchanged and nothing else is here",
                "files": files,
            },
            indent=1,
        )
        + "\n"
    )
    return len(files)

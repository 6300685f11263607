"""Reading a file the user named, bounded: a size limit with a clear error instead of reading without end.

``--context /dev/zero`` (or a multi-gigabyte log passed by mistake) would otherwise read until memory runs
out. Each kind of file has a limit far above any real one: a context travels with a task to a model (a
million-token window is about 4 MB of text), a configuration file is a few kilobytes.
"""

from __future__ import annotations

from pathlib import Path

from router._exceptions import InvalidInputError

#: Largest context file: about a million tokens of text, more than any model's context window.
MAX_CONTEXT_BYTES = 4 * 1024 * 1024
#: Largest catalog, estimator or rules TOML file.
MAX_CONFIG_BYTES = 1024 * 1024


def _size(limit: int) -> str:
    return f"{limit / (1024 * 1024):g} MB" if limit >= 1024 * 1024 else f"{limit / 1024:g} KB"


def read_bounded(path: str | Path, *, limit: int, what: str) -> bytes:
    """The bytes of ``path``, refusing (InvalidInputError naming ``what``, the path and the limit) a file
    larger than ``limit`` bytes; reads at most ``limit + 1`` bytes whatever the file is."""
    path = Path(path)
    with path.open("rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise InvalidInputError(
            f"{what} {str(path)!r} is larger than the {_size(limit)} allowed; give a smaller file"
        )
    return data

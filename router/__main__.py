"""The ``router`` command's entry point (also ``python -m router``).

It sits outside ``router.cli`` because importing that package imports Typer and Rich, which come with the
``[cli]`` extra: without them, the command prints one line naming the extra instead of a traceback.
"""

from __future__ import annotations

import sys

from router._extras import MissingExtraError, require


def main() -> None:
    try:
        require("typer", extra="cli")
        require("rich", extra="cli")
    except MissingExtraError as exc:
        sys.stderr.write(f"error: {exc}\n")
        raise SystemExit(1) from None
    from router.cli import main as cli_main  # here, after the check: it imports Typer

    cli_main()


if __name__ == "__main__":
    main()

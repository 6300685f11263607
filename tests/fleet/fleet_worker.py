"""One serving process of the fleet test: follow ``models:/NAME@champion`` and decide until told to stop.

Every decision appends ``<epoch seconds> <model_version> <source>`` to the output file (``error <repr>``
when ``route`` raised), so the test can see when each process started deciding with the new version and
that no decision failed across the swap.

    python tests/fleet/fleet_worker.py URI REFRESH_S OUT_FILE STOP_FILE
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from router import Router

TASKS = (
    "Fix the flaky login test",
    "Refactor the payment module to use the new billing API",
    "Fix typo in README",
    "Design a distributed rate limiter for the public API with per-tenant quotas",
)


def main() -> None:
    uri, refresh, out, stop = sys.argv[1], float(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4])
    with Router.load(uri, refresh=refresh, strict=True) as router, out.open("a", buffering=1) as log:
        log.write(f"ready {router.model_version}\n")
        i = 0
        while not stop.exists():
            try:
                d = router.route(TASKS[i % len(TASKS)])
                log.write(f"{time.time():.3f} {d.model_version} {d.source}\n")
            except Exception as exc:  # counted by the test: no decision may fail during a swap
                log.write(f"error {exc!r}\n")
            i += 1
            time.sleep(0.05)  # a steady trickle of decisions without taking a shared core


if __name__ == "__main__":
    main()

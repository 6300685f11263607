"""Code that runs in another process for the collector's crash and exit tests.

``python telemetry_workers.py LOCATION forever`` records decisions in bursts, flushing after each, and prints
how many events had been written (committed) after each flush, until it is killed.
``python telemetry_workers.py LOCATION N`` records N decisions and exits without closing the collector: the
``atexit`` hook must flush them.
"""

from __future__ import annotations

import sys

from router import Router
from router.telemetry import Collector

BURST = 100


def open_collector(location: str, **kwargs: object) -> Collector:
    if "://" in location:
        return Collector(database_url=location, **kwargs)  # type: ignore[arg-type]
    return Collector(location, **kwargs)  # type: ignore[arg-type]


def main(location: str, count: str) -> None:
    collector = open_collector(location, batch_size=BURST, flush_interval_s=0.01)
    decision = Router().route("Fix the flaky login test")
    if count == "forever":
        while True:
            for _ in range(BURST):
                collector.record_decision(decision, 1e-4, "Fix the flaky login test")
            collector.flush()
            print(collector.stats().written, flush=True)
    for _ in range(int(count)):
        collector.record_decision(decision, 1e-4, "Fix the flaky login test")
    # No flush, no close: the interpreter's exit must write them.


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

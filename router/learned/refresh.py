"""Following a registry alias: the machinery behind ``Router.load("models:/NAME@ALIAS", refresh=SECONDS)``.

:class:`AliasFollower` holds the router serving now and the thread that replaces it; the public
``RefreshingRouter`` (``router.learned.router``) is an ``AliasFollower`` and a ``Router``. A daemon thread
asks the registry every ``refresh`` seconds which version the alias points at; when it changed, the thread
downloads that version (by number, so the files are the version it names), builds a
:class:`~router.learned.router.LearnedRouter` from it and swaps it in with one reference assignment. Every
decision reads that reference once and finishes on the router it read, so a decision in flight completes on
the model it started with and the hot path takes no lock. A refresh that fails keeps the current model, logs
a warning and counts the failure (``refresh_failures``, and the collector's ``record_refresh_failure`` when
it has one, which telemetry stores as a ``model_refresh`` alert).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from router._exceptions import ArtifactError, InvalidInputError
from router.learned.registry import RegistryRef, alias_version

if TYPE_CHECKING:
    from router._sink import EventSink
    from router._types import RoutingDecision
    from router.estimation.estimator import FileArg
    from router.selection.heuristic import HeuristicRouter
    from router.selection.table import RouteTable

    Router = HeuristicRouter  # what this module needs of a router: route, route_many, route_table

log = logging.getLogger("router")

#: The shortest refresh interval accepted: each refresh is one registry request per process.
MIN_REFRESH_S = 0.5


class AliasFollower:
    """Serves the router an alias points at, and swaps in the new one when the alias moves.

    ``RefreshingRouter`` (built by ``Router.load(uri, refresh=SECONDS)``) is this and a ``Router``; use it as
    any ``Router``. ``close()`` (or leaving a ``with`` block) stops the refresh thread; the router keeps
    serving the model it has.

    Parameters
    ----------
    uri : str
        The ``models:/NAME@ALIAS`` URI being followed.
    current : Router
        The router serving now (learned, or the heuristic when the first load failed and was allowed to).
    version : str or None
        The registry version ``current`` was loaded from (None for the heuristic).
    interval_s : float
        Seconds between two look-ups of the alias.
    fetch : callable
        ``fetch(current_version) -> (router, version)`` or None when the alias has not moved; raises on
        failure. ``Router.load`` passes one that asks the registry with timeouts.
    collector : EventSink, optional
        Told of each failed refresh (``record_refresh_failure``) when it has that method.
    """

    def __init__(
        self,
        uri: str,
        current: Router,
        version: str | None,
        interval_s: float,
        fetch: Callable[[str | None], tuple[Router, str] | None],
        collector: EventSink | None = None,
    ) -> None:
        # No Router.__init__ (in RefreshingRouter): this object holds no model of its own; every call goes
        # to ``_current``.
        if not MIN_REFRESH_S <= interval_s < float("inf"):
            raise InvalidInputError(
                f"refresh must be seconds >= {MIN_REFRESH_S} (or None for no refresh), got {interval_s!r}"
            )
        self.uri = uri
        self.interval_s = float(interval_s)
        self._current = current
        self._version = version
        self._fetch = fetch
        self._collector = collector
        self.refreshes = 0  # successful swaps to a new version
        self.refresh_failures = 0
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="router-model-refresh", daemon=True)
        self._thread.start()

    # --- what the router serves -----------------------------------------------------------------------

    @property
    def current(self) -> Router:
        """The router deciding now (one reference read; it may change at the next refresh)."""
        return self._current

    @property
    def model_version(self) -> str | None:
        """The registry version serving now, ``NAME/VERSION`` (None while the heuristic serves)."""
        return getattr(self._current, "model_version", None)

    @property
    def source(self) -> str:  # a class attribute on Router, live here
        return self._current.source

    @property
    def model_uri(self) -> str | None:
        return self._current.model_uri

    def route(
        self,
        description: str,
        files: Sequence[FileArg] | None = None,
        context: str | None = None,
        tradeoff: float | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> RoutingDecision:
        return self._current.route(description, files, context, tradeoff, metadata)

    def route_many(
        self,
        descriptions: Iterable[str],
        tradeoff: float | None = None,
        metadata: Mapping[str, str] | Sequence[Mapping[str, str]] | None = None,
    ) -> list[RoutingDecision]:
        return self._current.route_many(descriptions, tradeoff, metadata)

    def route_table(
        self,
        descriptions: Iterable[str],
        tradeoff: float | None = None,
        metadata: Mapping[str, str] | Sequence[Mapping[str, str]] | None = None,
    ) -> RouteTable:
        return self._current.route_table(descriptions, tradeoff, metadata)

    def next_step(self, *args: Any, **kwargs: Any) -> Any:
        """``Router.next_step`` of the router serving now."""
        return self._current.next_step(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        # Only reached for names this class lacks (catalog, estimator, collector, model, ...).
        if name.startswith("__") or name in ("_current", "_version"):
            raise AttributeError(name)
        return getattr(self._current, name)

    # --- the refresh thread ---------------------------------------------------------------------------

    def refresh_now(self) -> bool:
        """Look the alias up once and swap in its version if it moved; True when a new model was swapped in.

        A failure keeps the current model: it is logged, counted and reported to the collector, never raised.
        """
        try:
            fetched = self._fetch(self._version)
        except Exception as exc:  # any failure of the registry or the artifact: keep serving
            self.refresh_failures += 1
            self.last_error = str(exc)
            log.warning(
                "refreshing %s failed (%d so far); still serving %s: %s",
                self.uri,
                self.refresh_failures,
                self._version or "the heuristic",
                exc,
            )
            record = getattr(self._collector, "record_refresh_failure", None)
            if record is not None:
                record(self.uri, str(exc), self.refresh_failures)
            return False
        if fetched is None:
            return False
        router, version = fetched
        previous = self._version
        self._current, self._version = router, version  # the swap: decisions read _current once
        self.refreshes += 1
        log.info("%s now serves version %s (was %s)", self.uri, version, previous or "the heuristic")
        return True

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.refresh_now()

    def close(self) -> None:
        """Stop following the alias; the router keeps serving the model it has."""
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=30)

    def __enter__(self) -> AliasFollower:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.uri!r}, version={self._version!r}, every {self.interval_s:g} s, "
            f"{self.refreshes} refreshes, {self.refresh_failures} failures)"
        )


def following(
    uri: str,
    refresh: float,
    *,
    load: Callable[..., Router],
    heuristic: Callable[..., Router],
    make: Callable[..., AliasFollower],
    strict: bool = False,
    exploration_rate: float = 0.0,
    seed: int | None = None,
    collector: EventSink | None = None,
) -> AliasFollower:
    """``Router.load(uri, refresh=...)``: load the alias's version now and follow it from a daemon thread.

    ``load(uri, **options)`` builds a learned router (``load_learned``), ``heuristic(collector=...)`` the
    heuristic one, ``make(...)`` the follower (``RefreshingRouter``); they are passed in so that this module
    needs nothing from the module that defines ``Router``. The first load behaves as ``Router.load`` without
    refresh (``strict`` raises, else the heuristic serves with a warning); while the heuristic serves, each
    refresh tries the alias again.
    """
    ref = RegistryRef.parse(uri)
    if ref is None or ref.alias is None:
        raise InvalidInputError(
            f"refresh follows a registry alias: give a models:/NAME@ALIAS URI, got {uri!r} (or refresh=None)"
        )
    if isinstance(refresh, bool) or not isinstance(refresh, int | float):
        raise InvalidInputError(f"refresh must be seconds (a number) or None, got {refresh!r}")
    if not MIN_REFRESH_S <= refresh < float("inf"):
        raise InvalidInputError(
            f"refresh must be seconds >= {MIN_REFRESH_S} (or None for no refresh), got {refresh!r}"
        )

    def fetch(current: str | None) -> tuple[Router, str] | None:
        number = alias_version(ref)
        version = f"{ref.name}/{number}"
        if version == current:
            return None
        router = load(
            ref.pinned(number), exploration_rate=exploration_rate, seed=seed, collector=collector,
            version=version, model_uri=uri,
        )  # fmt: skip
        return router, version

    first: Router | None = None
    version: str | None = None
    try:
        fetched = fetch(None)
        if fetched is not None:
            first, version = fetched
    except ArtifactError as exc:
        if strict:
            raise
        log.warning("%s Serving the heuristic router until a refresh succeeds.", exc)
    current = first if first is not None else heuristic(collector=collector)
    return make(uri, current, version, float(refresh), fetch, collector=collector)

"""Prometheus metrics: request metrics from the instrumentator, served models and domain counters.

Request latency histograms per endpoint come from ``prometheus-fastapi-instrumentator``
(``http_request_duration_seconds{handler,method}``). Which model version each family serves is
read from the model store at scrape time. Domain counters (swaps, recommendation sources, fraud
decisions, ingested events) are process-wide, kept in ``DOMAIN_REGISTRY`` and exposed by every
app of the process: a server process runs one app, and tests compare differences.
Routers call the small ``record_*`` helpers; they never touch ``prometheus_client`` themselves.
"""

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter, Metric, PlatformCollector, ProcessCollector
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from prometheus_fastapi_instrumentator import Instrumentator

DOMAIN_REGISTRY = CollectorRegistry()

MODEL_SWAPS = Counter(
    "shelfwise_model_swaps",
    "Model versions checked for a hot swap, by family and outcome (success: swapped in; "
    "failure: refused, the previous version kept serving).",
    ["family", "outcome"],
    registry=DOMAIN_REGISTRY,
)
REGISTRY_CHECKS = Counter(
    "shelfwise_registry_checks",
    "Alias lookups in the registry by outcome (ok, unreachable).",
    ["outcome"],
    registry=DOMAIN_REGISTRY,
)
RECOMMENDATION_SOURCES = Counter(
    "shelfwise_recommendation_responses",
    "Recommendation-style responses by the strategy that answered (`source`): how often the "
    "personalised path answered and how often a fallback (popular, category ...) did.",
    ["source"],
    registry=DOMAIN_REGISTRY,
)
FRAUD_DECISIONS = Counter(
    "shelfwise_fraud_decisions",
    "Fraud scoring decisions by type (approve, review, decline).",
    ["decision"],
    registry=DOMAIN_REGISTRY,
)
EVENTS_INGESTED = Counter(
    "shelfwise_events_ingested",
    "Storefront events accepted into the online state, by event type.",
    ["event_type"],
    registry=DOMAIN_REGISTRY,
)
RATE_LIMITED = Counter(
    "shelfwise_rate_limited",
    "Requests refused with 429, by what ran out of tokens: an API key's bucket (api_key) or a "
    "client address's, for requests without a valid key (address). Keys are never named.",
    ["bucket"],
    registry=DOMAIN_REGISTRY,
)


def record_swap(family: str, *, ok: bool) -> None:
    """Count one hot-swap attempt of ``family``."""
    MODEL_SWAPS.labels(family, "success" if ok else "failure").inc()


def record_registry_check(*, reachable: bool) -> None:
    """Count one alias lookup round."""
    REGISTRY_CHECKS.labels("ok" if reachable else "unreachable").inc()


def record_recommendation_source(source: str) -> None:
    """Count a recommendation response by its ``source`` (a short, model-defined strategy name)."""
    RECOMMENDATION_SOURCES.labels(source).inc()


def record_fraud_decision(decision: str) -> None:
    """Count a fraud decision."""
    FRAUD_DECISIONS.labels(decision).inc()


def record_events(event_types: Iterable[str]) -> None:
    """Count accepted events by type (one call per accepted batch)."""
    counts: dict[str, int] = {}
    for kind in event_types:
        counts[kind] = counts.get(kind, 0) + 1
    for kind, n in counts.items():
        EVENTS_INGESTED.labels(kind).inc(n)


def record_rate_limited(bucket: str) -> None:
    """Count a 429 of a bucket kind (``api_key`` or ``address``)."""
    RATE_LIMITED.labels(bucket).inc()


class ModelCollector(Collector):
    """``shelfwise_model_loaded{family,version,status}``: 1 when loaded, read at scrape time."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def collect(self) -> Iterator[GaugeMetricFamily]:
        gauge = GaugeMetricFamily(
            "shelfwise_model_loaded",
            "1 if the family's model is loaded, else 0; `version` is the version answering now.",
            labels=["family", "version", "status"],
        )
        for family, entry in self.app.state.models.entries().items():
            gauge.add_metric(
                [family, entry.version or "", entry.status], 1.0 if entry.status == "loaded" else 0.0
            )
        yield gauge


class StateCollector(Collector):
    """``shelfwise_state_size{part}``: rows, users, entities and answers the online state holds,
    read at scrape time (in-process states; a shared Redis state is sized by Redis itself)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def collect(self) -> Iterator[GaugeMetricFamily]:
        gauge = GaugeMetricFamily(
            "shelfwise_state_size",
            "Size of the online state by part: event_log_events/labels (rows in the durable log), "
            "users_in_memory, fraud_labels_in_memory, fraud_entities, fraud_answers, fraud_journal_rows.",
            labels=["part"],
        )
        for holder in (self.app.state.online, self.app.state.fraud.state):
            sizes = getattr(holder, "sizes", None)
            for part, n in (sizes() if sizes is not None else {}).items():
                gauge.add_metric([part], float(n))
        yield gauge


class SearchCacheCollector(Collector):
    """``shelfwise_search_cache{stat}``: the answer cache's hits, misses, evictions, entries, bytes."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def collect(self) -> Iterator[GaugeMetricFamily]:
        gauge = GaugeMetricFamily(
            "shelfwise_search_cache",
            "Search answer cache (SHELFWISE_SEARCH_CACHE_MB): hits, misses and evictions since start, "
            "entries and bytes now.",
            labels=["stat"],
        )
        stats = self.app.state.search_cache.stats()
        for stat in ("hits", "misses", "evictions", "entries", "bytes"):
            gauge.add_metric([stat], float(getattr(stats, stat)))
        yield gauge


class _Forward(Collector):
    """Expose another registry's metrics (the process-wide domain counters) in an app's registry."""

    def __init__(self, source: CollectorRegistry) -> None:
        self.source = source

    def collect(self) -> Iterator[Metric]:
        yield from self.source.collect()


def instrument(app: FastAPI, dependencies: Sequence[Any] = ()) -> CollectorRegistry:
    """Add request metrics and ``GET /metrics`` to ``app``; returns the app's own registry.

    ``dependencies`` guard ``/metrics`` (an API-key scope check when ``SHELFWISE_METRICS_SCOPE`` is set).

    Each app gets its own registry (plus the process collectors the global one would have), so
    several apps in one process, as in tests, never clash on metric names.
    """
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    registry.register(ModelCollector(app))
    registry.register(StateCollector(app))
    registry.register(SearchCacheCollector(app))
    registry.register(_Forward(DOMAIN_REGISTRY))
    Instrumentator(registry=registry, excluded_handlers=["/metrics"]).instrument(app).expose(
        app, include_in_schema=False, dependencies=list(dependencies)
    )
    return registry

"""Prometheus metrics: request metrics from the instrumentator plus which models are served."""

from collections.abc import Iterator

from fastapi import FastAPI
from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from prometheus_fastapi_instrumentator import Instrumentator


class ModelCollector(Collector):
    """``shelfwise_model_loaded{family,version,status}``: 1 when loaded, read at scrape time."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def collect(self) -> Iterator[GaugeMetricFamily]:
        gauge = GaugeMetricFamily(
            "shelfwise_model_loaded",
            "1 if the family's model is loaded, else 0.",
            labels=["family", "version", "status"],
        )
        for family, entry in self.app.state.models.entries().items():
            gauge.add_metric(
                [family, entry.version or "", entry.status], 1.0 if entry.status == "loaded" else 0.0
            )
        yield gauge


def instrument(app: FastAPI) -> CollectorRegistry:
    """Add request metrics and ``GET /metrics`` to ``app``; returns the app's own registry.

    Each app gets its own registry (plus the process collectors the global one would have), so
    several apps in one process, as in tests, never clash on metric names.
    """
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    registry.register(ModelCollector(app))
    Instrumentator(registry=registry, excluded_handlers=["/metrics"]).instrument(app).expose(
        app, include_in_schema=False
    )
    return registry

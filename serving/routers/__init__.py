"""One router per resource; ``serving.app`` includes every one of ``ROUTERS``."""

from fastapi import APIRouter

from serving.routers import (
    admin,
    catalog,
    console,
    events,
    forecast,
    fraud,
    fraud_rules,
    health,
    items,
    pages,
    recommendations,
    reorder,
    search,
    stock,
)

# The app includes these directly (``serving.app``), hottest first: FastAPI matches routes in
# order, and every earlier route is a check per request. The one-route forecast and reorder
# routers come right after health because their lookups are the cheapest requests, where those
# checks weigh most (docs/ARCHITECTURE.md, "The request path").
ROUTERS: tuple[APIRouter, ...] = tuple(
    m.router
    for m in (
        health,
        forecast,
        reorder,
        recommendations,
        search,
        fraud,
        events,
        stock,
        catalog,
        admin,
        fraud_rules,
        items,
        pages,  # cold human pages last
        console,
    )
)

"""One router per resource; ``serving.app`` includes every one of ``ROUTERS``."""

from fastapi import APIRouter

from serving.routers import (
    admin,
    catalog,
    events,
    forecast,
    fraud,
    fraud_rules,
    health,
    inventory,
    recommendations,
    search,
    stock,
)

# The app includes these directly (``serving.app``), hottest first: FastAPI matches an included
# router's routes one level at a time, and every level and earlier route costs time per request.
ROUTERS: tuple[APIRouter, ...] = tuple(
    m.router
    for m in (
        health,
        recommendations,
        search,
        fraud,
        events,
        forecast,
        inventory,
        stock,
        catalog,
        admin,
        fraud_rules,
    )
)

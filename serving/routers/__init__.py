"""One router per resource; ``api_router`` mounts them all."""

from fastapi import APIRouter

from serving.routers import (
    admin,
    catalog,
    events,
    forecast,
    fraud,
    health,
    inventory,
    recommendations,
    search,
    stock,
)

api_router = APIRouter()
for _module in (health, recommendations, search, events, fraud, forecast, inventory, stock, admin, catalog):
    api_router.include_router(_module.router)
# Fraud rules admin router, added separately so the shared line above stays as others edit it.
from serving.routers import fraud_rules  # noqa: E402

api_router.include_router(fraud_rules.router)

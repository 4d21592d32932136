"""One router per resource; ``api_router`` mounts them all."""

from fastapi import APIRouter

from serving.routers import admin, events, forecast, fraud, health, recommendations, search

api_router = APIRouter()
for _module in (health, recommendations, search, events, fraud, forecast, admin):
    api_router.include_router(_module.router)

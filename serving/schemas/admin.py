"""Health, readiness and admin schemas."""

from typing import Literal

from pydantic import BaseModel

from serving.schemas.common import FamilyStatus


class HealthResponse(BaseModel):
    """Liveness: the process answers."""

    status: Literal["ok"] = "ok"


class ReadyResponse(BaseModel):
    """Readiness: ``ready`` only when every configured model family is loaded."""

    status: Literal["ready", "not_ready"]
    families: dict[str, FamilyStatus]


class ReloadResponse(BaseModel):
    """Each family's state after a reload from the registry."""

    families: dict[str, FamilyStatus]

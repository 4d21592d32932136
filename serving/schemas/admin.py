"""Health, readiness and admin schemas."""

from typing import Literal

from pydantic import BaseModel, Field

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
    outcomes: dict[str, str] = Field(
        default_factory=dict,
        description="Per family: unchanged, swapped, rejected (the previous version keeps serving), "
        "unreachable (registry down; kept serving), unaliased, or reloaded (model directories).",
    )

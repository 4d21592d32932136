"""Health, readiness and admin schemas."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from serving.schemas.common import FamilyStatus


class HealthResponse(BaseModel):
    """Liveness: the process answers."""

    status: Literal["ok"] = "ok"


class ReadyResponse(BaseModel):
    """Readiness: ``ready`` only when every configured model family is loaded."""

    status: Literal["ready", "not_ready"]
    families: dict[str, FamilyStatus]
    problems: list[str] = Field(
        default_factory=list, description="Other reasons the server cannot answer correctly (e.g. rules)."
    )
    warnings: list[str] = Field(
        default_factory=list,
        description="Degraded but serving, e.g. Redis lost the shared state (not ready stays as it was).",
    )


class ReloadResponse(BaseModel):
    """Each family's state after a reload from the registry."""

    families: dict[str, FamilyStatus]
    outcomes: dict[str, str] = Field(
        default_factory=dict,
        description="Per family: unchanged, swapped, rejected (the previous version keeps serving), "
        "unreachable (registry down; kept serving), unaliased, or reloaded (model directories).",
    )


class ModelVersionOut(BaseModel):
    """One registered version: its aliases and its primary metric with a 95 % interval."""

    version: str
    aliases: list[str] = Field(description="`champion` (served), `challenger` (registered, not promoted) ...")
    primary_metric: str | None
    value: float | None
    ci_low: float | None
    ci_high: float | None
    n_cases: float | None = Field(description="Evaluation cases behind the metric.")
    run_id: str | None
    created: int | None = Field(description="Registration time, milliseconds since 1970.")


class FamilyModels(BaseModel):
    """A family's registered versions (newest first) and the version this server answers with."""

    served_version: str | None
    versions: list[ModelVersionOut]


class ModelsResponse(BaseModel):
    """Every family's registered versions."""

    families: dict[str, FamilyModels]


class PromoteRequest(BaseModel):
    """Which registered version becomes the champion (an older one: a rollback)."""

    model_config = ConfigDict(extra="forbid")

    version: str = Field(min_length=1, max_length=20, pattern=r"^[0-9]+$", description="e.g. `2`.")


class PromoteResponse(BaseModel):
    """The new champion and what this server did about it."""

    family: str
    version: str
    outcome: str = Field(description="This server's reload outcome for the family: swapped, unchanged ...")
    families: dict[str, FamilyStatus]

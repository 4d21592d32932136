"""Fast JSON answers for the hot lookup routes.

FastAPI validates a returned pydantic model against ``response_model`` and serialises it again;
for a forecast that is ~60 small validations per request, more than the lookup itself, and the
standard library's ``json.dumps`` is no cure (≈160 µs for a 28-day forecast: float formatting).
Hot routes therefore build plain data and return it through ``json_response``, which encodes with
orjson (≈7 µs for the same body; it also writes numpy scalars and dates natively). The route
still declares its ``response_model`` (the OpenAPI contract), and the tests check the bodies
against it (schemathesis validates every response against the served schema).
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

_OPTIONS = orjson.OPT_SERIALIZE_NUMPY
JSON = "application/json"


def json_response(payload: dict[str, Any], status_code: int = 200) -> Response:
    """``payload`` as compact JSON. NaN and infinities become ``null``, as pydantic writes them."""
    return Response(orjson.dumps(payload, option=_OPTIONS), status_code=status_code, media_type=JSON)

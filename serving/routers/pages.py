"""Human pages, no auth: a landing page at ``/`` and the API docs with their assets served locally.

FastAPI's default ``/docs`` and ``/redoc`` load Swagger UI and ReDoc from a CDN, so they are blank
offline and on locked-down networks. Here they are FastAPI's own pages pointed at the copies of
those assets that the ``fastapi-offline`` package ships (FastAPI's documented recipe for
self-hosting the docs' JavaScript and CSS).
"""

from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_PATH = "/docs-assets"
ASSETS_DIR = Path(fastapi_offline.__file__).parent / "static"

router = APIRouter(include_in_schema=False)


def mount_assets(app: FastAPI) -> None:
    """Serve the docs' JavaScript, CSS and icon from the installed package."""
    app.mount(ASSETS_PATH, StaticFiles(directory=ASSETS_DIR), name="docs-assets")


def _docs_enabled(request: Request) -> None:
    if request.app.openapi_url is None:  # SHELFWISE_DOCS_ENABLED=false
        raise HTTPException(404, "Not Found")


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    _docs_enabled(request)
    return get_swagger_ui_html(
        openapi_url=request.app.openapi_url,
        title=f"{request.app.title} - API docs",
        swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS_PATH}/favicon.png",
    )


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    _docs_enabled(request)
    return get_redoc_html(
        openapi_url=request.app.openapi_url,
        title=f"{request.app.title} - API reference",
        redoc_js_url=f"{ASSETS_PATH}/redoc.standalone.js",
        redoc_favicon_url=f"{ASSETS_PATH}/favicon.png",
        with_google_fonts=False,
    )


LANDING = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Shelfwise</title>
<link rel="icon" href="{assets}/favicon.png">
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}}
li{{margin:.3rem 0}}code{{background:#f3f3f3;padding:0 .25rem}}</style></head>
<body><h1>Shelfwise {version}</h1>
<p>Recommendations, search, fraud scoring and demand forecasts for online stores.</p>
<ul>
<li><a href="/console">Console</a>: try search, recommendations, fraud checks, forecasts and model
promotion in the browser with an API key</li>
<li><a href="/docs">API docs</a> (try every endpoint with an <code>X-API-Key</code>) and the
<a href="/redoc">API reference</a></li>
<li><a href="/ready">/ready</a>: which model families are loaded (503 until all are)</li>
<li><a href="/health">/health</a>: the process is up</li>
<li><a href="/metrics">/metrics</a>: Prometheus metrics</li>
</ul></body></html>
"""


@router.get("/")
async def landing(request: Request) -> HTMLResponse:
    return HTMLResponse(LANDING.format(assets=ASSETS_PATH, version=request.app.version))

"""The web console at ``/console``: one page of plain JavaScript over the public API (no auth here).

The page is static; everything it shows comes from the ``/v1`` endpoints, called by the browser
with the API key a person enters (kept for the browser session in a cookie scoped to ``/console``
pages, which this server ignores; never in a URL). Every
``/console/...`` path answers the same page, which renders the view its path and query name,
so a link reproduces what someone saw. Assets ship inside the package: the console works offline.
"""

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

ASSETS_PATH = "/console-assets"
ASSETS_DIR = Path(__file__).resolve().parent.parent / "console"
# The page loads only its own scripts and styles and talks only to this server.
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
    "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}

router = APIRouter(include_in_schema=False)


def mount_assets(app: FastAPI) -> None:
    """Serve the console's JavaScript and CSS from the installed package."""
    app.mount(ASSETS_PATH, StaticFiles(directory=ASSETS_DIR), name="console-assets")


@router.get("/console")
@router.get("/console/{view:path}")
async def console(view: str = "") -> FileResponse:
    return FileResponse(ASSETS_DIR / "index.html", media_type="text/html", headers=HEADERS)

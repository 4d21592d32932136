"""The human pages: a landing page and API docs whose assets come from the package, not a CDN."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from serving_support import make_settings

from serving.app import create_app


def _client() -> TestClient:
    return TestClient(create_app(make_settings(families=[])))


def test_docs_and_redoc_load_every_asset_from_this_server() -> None:
    with _client() as client:
        for page in ("/docs", "/redoc"):
            html = client.get(page)
            assert html.status_code == 200 and "text/html" in html.headers["content-type"]
            urls = re.findall(r'(?:src|href)="([^"]+)"', html.text) + re.findall(r"url: '([^']+)'", html.text)
            assert urls, page
            for url in urls:
                assert url.startswith("/"), f"{page} loads {url} from elsewhere"  # no CDN, no fonts
                assert client.get(url).status_code == 200, url
        assert b"SwaggerUIBundle" in client.get("/docs-assets/swagger-ui-bundle.js").content


def test_the_landing_page_links_docs_readiness_and_metrics() -> None:
    with _client() as client:
        page = client.get("/")
        assert page.status_code == 200
        for link in ("/docs", "/redoc", "/ready", "/health", "/metrics"):
            assert f'href="{link}"' in page.text
        assert "/" not in client.get("/openapi.json").json()["paths"]  # pages stay out of the API schema

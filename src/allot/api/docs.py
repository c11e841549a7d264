"""The API's interactive docs (/docs): Swagger UI from this package's own files (web/static/swagger-ui,
swagger-ui-dist 5 as published on npm, with its licence).

No CDN at run time (the dashboard promises none), no inline script: the page can carry a strict CSP.
"""
from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response

ASSETS = "/static/swagger-ui"  # mounted with the dashboard's static files
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
       "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'")
PAGE = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Allot API</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{ASSETS}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{ASSETS}/swagger-ui-bundle.js"></script>
<script src="/docs/start.js"></script>
</body>
</html>
"""
START = """window.ui = SwaggerUIBundle({
  url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true, layout: "BaseLayout",
  presets: [SwaggerUIBundle.presets.apis], showExtensions: true, showCommonExtensions: true
});
"""


def install(app: FastAPI) -> None:
    """Serve /docs from the package's files (the app is built with docs_url=None and redoc_url=None)."""

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(PAGE, headers={"Content-Security-Policy": CSP})

    @app.get("/docs/start.js", include_in_schema=False)
    def start() -> Response:
        return Response(START, media_type="text/javascript", headers={"Content-Security-Policy": CSP})

"""The staff pages and the wall screen: every `web/<name>.html` is served at `/<name>`, and `web/static/`
(shared scripts, styles and vendored libraries) at `/static/`. A page logs in with an API token
(`static/common.js`); the pages hold no data of their own and read everything from `/api/v1`."""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from importlib.resources.abc import Traversable

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

WEB = "chengyun.web"


def html_pages() -> dict[str, Traversable]:
    """The pages shipped in the package, by their path (`/screen` for `web/screen.html`)."""
    folder = resources.files(WEB)
    return {f"/{f.name.removesuffix('.html')}": f for f in folder.iterdir() if f.name.endswith(".html")}


def install(app: FastAPI) -> None:
    for path, file in sorted(html_pages().items()):
        app.add_api_route(path, _serve(file), methods=["GET"], include_in_schema=False)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/screen")

    app.mount("/static", StaticFiles(packages=[(WEB, "static")]), name="static")


def _serve(file: Traversable) -> Callable[[], HTMLResponse]:
    def page() -> HTMLResponse:
        # Read on each request: a page is small, and an edited page shows on the next reload.
        return HTMLResponse(file.read_text(encoding="utf-8"), headers={"Cache-Control": "no-cache"})

    return page

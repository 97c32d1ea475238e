"""The pages and their shared files are served by the app itself (no other web server, nothing external)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from chengyun.api.routes.pages import html_pages


def test_every_shipped_page_is_served_at_its_name(client: TestClient) -> None:
    assert "/screen" in html_pages()
    for path in html_pages():
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("text/html")
        assert '<html lang="zh-CN">' in response.text


def test_the_root_opens_the_wall_screen(client: TestClient) -> None:
    response = client.get("/", follow_redirects=False)
    assert response.status_code in (302, 307)
    assert response.headers["location"] == "/screen"


def test_shared_scripts_are_served_and_unknown_files_are_404(client: TestClient) -> None:
    script = client.get("/static/common.js")
    assert script.status_code == 200
    assert "requireLogin" in script.text
    assert client.get("/static/nothing.js").status_code == 404
    assert client.get("/static/../api/app.py").status_code == 404


def test_the_pages_load_only_files_the_app_serves(client: TestClient) -> None:
    """Every script and style a page refers to is served here (ECharts is vendored, with its licence)."""
    for path in html_pages():
        page = client.get(path).text
        for ref in re.findall(r'(?:src|href)="(/static/[^"]+)"', page):
            assert client.get(ref).status_code == 200, (path, ref)
        assert "http://" not in page and "https://" not in page, path
    assert "Apache License" in client.get("/static/vendor/echarts/LICENSE").text
    assert client.get("/static/vendor/echarts/NOTICE").status_code == 200

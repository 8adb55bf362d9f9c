"""The web tier as the demo and production run it (gunicorn with the uvicorn workers of
`config/gunicorn.py`, started through `config.launcher`) serves the admin's static files once
`collectstatic` has gathered them: the admin comes styled, not as bare HTML."""

import re
import subprocess
import sys
from collections.abc import Iterator

import pytest
import requests

from config.launcher import ROOT, free_port, service_env, start_web

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]  # the test database, for the web tier


@pytest.fixture(scope="module")
def web(django_db_setup, tmp_path_factory) -> Iterator[str]:
    """The web tier on this session's test database, its static files collected first, as the
    demo does (its URL)."""
    tmp_path = tmp_path_factory.mktemp("web")
    env = service_env(STATIC_ROOT=str(tmp_path / "static"))
    collect = [sys.executable, str(ROOT / "manage.py"), "collectstatic", "--noinput", "-v0"]
    subprocess.run(collect, cwd=ROOT, env=env, check=True, timeout=120)
    port = free_port()
    process = start_web(tmp_path, port=port, env=env, workers=1, threads=2)
    yield f"http://127.0.0.1:{port}"
    process.stop()


def test_the_admin_login_page_comes_with_its_stylesheets(web):
    page = requests.get(f"{web}/admin/login/", timeout=10)
    assert page.status_code == 200
    stylesheets = re.findall(r'<link rel="stylesheet" href="([^"]+)"', page.text)
    assert "/static/admin/css/base.css" in stylesheets
    for href in stylesheets:
        css = requests.get(f"{web}{href}", timeout=10)
        assert css.status_code == 200, href
        assert css.headers["Content-Type"].startswith("text/css"), href
        assert "{" in css.text, href

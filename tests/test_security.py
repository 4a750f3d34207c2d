"""Security headers on every response, pages that need no inline script, and secrets kept out
of the server's logs."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from app.security import RedactSecrets, redact
from editorial.ingest import ingest
from editorial.settings import Settings

PAGES = ["/", "/pieces/cloud-basics/", "/topic/cloud/", "/feed.xml", "/api/pieces", "/nowhere/"]
PAGES += ["/editor/login", "/api/pieces/no-such-piece", "/healthz"]


@pytest.fixture
def site(client: TestClient, engine: Engine, content_dir: Path) -> TestClient:
    assert not ingest(engine, content_dir).errors
    return client


@pytest.mark.parametrize("path", PAGES)
def test_every_response_carries_the_security_headers(site: TestClient, path: str) -> None:
    response = site.get(path)
    headers = response.headers
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "strict-origin-when-cross-origin"
    policy = dict(p.strip().split(" ", 1) for p in headers["content-security-policy"].split(";"))
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["object-src"] == "'none'"


@pytest.mark.parametrize(
    ("method", "address", "status"),
    [
        ("GET", "/api/pieces/%00", 422),
        ("GET", "/api/pieces?q=%00", 422),
        ("GET", "/api/pieces?audience=cio&audience=%00", 422),
        ("GET", "/api/pieces/%00/ratings", 422),
        ("POST", "/api/pieces/%00/comments", 422),
        ("GET", "/pieces/%00/", 404),
        ("POST", "/pieces/%00/rate", 404),
        ("GET", "/topic/cloud%00/", 404),
        ("GET", "/editor/login?next=%00", 404),
    ],
)
def test_an_address_holding_nul_is_refused_not_a_crash(
    site: TestClient, method: str, address: str, status: int
) -> None:
    """PostgreSQL cannot hold NUL in text: such a slug or filter reached a query and failed."""
    response = site.request(method, address, data={"stars": "3"} if method == "POST" else None)
    assert response.status_code == status
    if status == 404:
        assert "Page not found" in response.text
    else:
        assert "NUL" in response.json()["detail"][0]["msg"]
    assert response.headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize(
    "path", ["/static/site.css", "/editor/static/editor.css", "/healthz", "/editor/login"]
)
def test_head_answers_as_get_does(site: TestClient, path: str) -> None:
    """Link checkers and load balancers ask with HEAD; these answered 405."""
    got, head = site.get(path), site.head(path)
    assert head.status_code == got.status_code == 200
    assert head.headers["content-type"] == got.headers["content-type"]
    if path.startswith(("/static/", "/editor/static/")):  # other bodies the server leaves out
        assert head.content == b""
        assert head.headers["content-length"] == str(len(got.content))


def test_the_api_docs_may_load_their_cdn_but_not_be_framed(site: TestClient) -> None:
    policy = site.get("/docs").headers["content-security-policy"]
    assert "https://cdn.jsdelivr.net" in policy and "frame-ancestors 'none'" in policy
    assert "cdn" not in site.get("/").headers["content-security-policy"]


def test_a_separate_feedback_api_may_be_called(site: TestClient, settings: Settings) -> None:
    from app.security import content_security_policy

    elsewhere = settings.model_copy(update={"feedback_api_url": "https://api.corp.example/v1/"})
    policy = content_security_policy(elsewhere)
    assert "connect-src 'self' https://api.corp.example;" in policy


INLINE = [
    re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/ld\+json)[^>]*>", re.I),
    re.compile(r"\son[a-z]+\s*=", re.I),
    re.compile(r"\sstyle\s*=", re.I),
    re.compile(r"<style", re.I),
    re.compile(r"javascript:", re.I),
]


@pytest.mark.parametrize("path", ["/", "/pieces/cloud-basics/", "/topic/cloud/", "/editor/login"])
def test_pages_need_no_inline_script_or_style(site: TestClient, path: str) -> None:
    html = site.get(path).text
    for pattern in INLINE:
        assert not pattern.search(html), f"{path}: {pattern.pattern} would be blocked by CSP"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "GET /calendar.ics?token=ed_s3cret HTTP/1.1",
            "GET /calendar.ics?token=[redacted] HTTP/1.1",
        ),
        ("/x?a=1&TOKEN=abc&b=2", "/x?a=1&TOKEN=[redacted]&b=2"),
        ("/login?next=/editor/&password=hunter22", "/login?next=/editor/&password=[redacted]"),
        ("/pieces/token=not-a-query/", "/pieces/token=not-a-query/"),
    ],
)
def test_redact(line: str, expected: str) -> None:
    assert redact(line) == expected


def test_the_filter_redacts_uvicorn_access_records() -> None:
    record = __import__("logging").LogRecord(
        "uvicorn.access", 20, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/calendar.ics?token=ed_s3cret", "1.1", 200), None,
    )  # fmt: skip
    assert RedactSecrets().filter(record)
    assert "ed_s3cret" not in record.getMessage()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_serve_never_logs_tokens_or_passwords(settings: Settings, tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    with open(log, "wb") as sink:
        server = subprocess.Popen(
            [sys.executable, "-m", "editorial.cli", "serve", "--port", str(port)],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=dict(os.environ),
        )
        try:
            base = f"http://127.0.0.1:{port}"
            with httpx.Client(base_url=base, timeout=5) as http:
                wait_until_up(http, server)
                http.get("/calendar.ics", params={"token": "ed_TOKEN_SECRET_1"})
                http.get("/api/pieces", params={"access_token": "ed_TOKEN_SECRET_2"})
                http.post(
                    "/editor/login", data={"email": "a@example.com", "password": "PASS_SECRET_3"}
                )
        finally:
            server.terminate()
            server.wait(timeout=30)
    text = log.read_text()
    assert "/calendar.ics?token=[redacted]" in text, text
    for secret in ("TOKEN_SECRET_1", "TOKEN_SECRET_2", "PASS_SECRET_3"):
        assert secret not in text


def wait_until_up(http: httpx.Client, server: subprocess.Popen) -> None:
    for _ in range(120):
        assert server.poll() is None, "editorial serve exited early"
        try:
            if http.get("/healthz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    raise AssertionError("editorial serve did not answer within 30 seconds")

"""Security headers on every response, and log redaction for `editorial serve`.

Pages use no inline script or style, so the Content-Security-Policy allows scripts, styles,
fonts and connections from the site itself only (the piece page's JSON-LD block is data, never
executed, so CSP does not touch it). Images may also come from https: addresses, since pieces
written in Markdown often show pictures hosted elsewhere. No page may be framed."""

from __future__ import annotations

import copy
import logging
import re
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from editorial.settings import Settings

# FastAPI's interactive docs load Swagger UI / ReDoc from a CDN and start them inline.
DOCS_PATHS = ("/docs", "/redoc")
DOCS_CDN = "https://cdn.jsdelivr.net"


def _origin(url: str) -> str:
    parts = urlsplit(url.strip())
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def content_security_policy(settings: Settings, docs: bool = False) -> str:
    """The policy for a page; the feedback API, when it lives elsewhere, may be called."""
    api = _origin(settings.feedback_api_url)
    connect = " ".join(filter(None, ["'self'", api]))
    script = f"'self' 'unsafe-inline' {DOCS_CDN}" if docs else "'self'"
    style = f"'self' 'unsafe-inline' {DOCS_CDN}" if docs else "'self'"
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src {script}",
            f"style-src {style}",
            # Markdown tables align cells with style="text-align: …", the one property the
            # sanitiser lets through; style attributes cannot run script.
            "style-src-attr 'unsafe-inline'",
            "img-src 'self' data: https:",
            f"connect-src {connect}",
            f"form-action {connect}",
            "object-src 'none'",
            "base-uri 'self'",
            "frame-ancestors 'none'",
        ]
    )


class SecurityHeaders:
    """Adds CSP, nosniff, no framing and a strict referrer policy to every HTTP response."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        common = {
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "strict-origin-when-cross-origin",
        }
        self.pages = {**common, "Content-Security-Policy": content_security_policy(settings)}
        self.docs = {**common, "Content-Security-Policy": content_security_policy(settings, True)}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self.docs if scope["path"].startswith(DOCS_PATHS) else self.pages

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in extra.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


SECRET_IN_QUERY = re.compile(
    r"(?i)([?&](?:token|access_token|api_key|key|password|secret|csrf_token)=)[^&\s\"']*"
)


def redact(text: str) -> str:
    """`text` with the value of every secret-bearing query parameter replaced."""
    return SECRET_IN_QUERY.sub(r"\1[redacted]", text)


class RedactSecrets(logging.Filter):
    """Removes tokens and passwords from log records (uvicorn's access log shows the query)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True


def log_config() -> dict[str, Any]:
    """uvicorn's logging configuration with secrets redacted from every handler."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact"] = {"()": f"{__name__}.RedactSecrets"}
    for handler in config["handlers"].values():
        handler.setdefault("filters", []).append("redact")
    return config

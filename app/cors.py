"""CORS for the feedback endpoints only: pages of allowed origins (the exported static site)
may read ratings and post feedback with the reader's cookie; nothing else is opened up."""

from __future__ import annotations

import re

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from editorial.readers import allowed_origins
from editorial.settings import Settings

FEEDBACK_PATHS = re.compile(
    r"^/(?:api/pieces/[^/]+/(?:ratings|comments)|pieces/[^/]+/(?:rate|comment))$"
)


class FeedbackCORS:
    """Starlette's CORSMiddleware with the allow-list from settings, on feedback paths only."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=sorted(allowed_origins(settings)),
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", "Accept"],
            allow_credentials=True,
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and FEEDBACK_PATHS.match(scope["path"]):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)

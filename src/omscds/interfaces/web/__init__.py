"""The clinician's web page: server-rendered Jinja2 pages, a little local JavaScript, no CDN.

``omscds.interfaces.web.routes.router`` is mounted by ``create_app``; everything it serves
(templates, static files, message catalogues, example cases) ships inside this package.
"""

from __future__ import annotations

__all__: list[str] = []

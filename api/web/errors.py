"""What a browser sees when a request outside the JSON API is refused or fails: a page in
Vietnamese, like the others, instead of problem+json.

A request gets a page when its address is not the JSON API's (``/api``, ``/api/…``,
``/openapi.json`` always answer problem+json) and it prefers HTML to JSON (its ``Accept``
names ``text/html`` at least as high as any JSON type: what a browser sends, not what a
script does). An unknown address is ``missing.html``, a role that may not see a page
``refused.html`` (the pages' own 404 and 403); the rest (401, 405, 500, …) say what went
wrong in ``problem.html``. Every page carries the security headers of the others, the 500
too (it is answered outside the middleware that adds them).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from starlette.requests import Request
from starlette.responses import Response

from api.web.security import HEADERS
from api.web.templates import page
from ledger.messages import render

#: the paths of the JSON API: refused as problem+json whatever the client accepts
JSON_API = ("/api", "/openapi.json")
#: the media types of a JSON answer
JSON_TYPES = ("application/json", "application/problem+json", "application/*")

#: each status's page: (template, title); any other status is ``problem.html``
PAGES: dict[int, tuple[str, str]] = {
    401: ("problem.html", "Cần đăng nhập"),
    403: ("refused.html", "Không có quyền xem trang này"),
    404: ("missing.html", "Không tìm thấy"),
    405: ("problem.html", "Không thực hiện được yêu cầu"),
    500: ("problem.html", "Lỗi máy chủ"),
    503: ("problem.html", "Tạm thời không phục vụ được"),
}
OTHER = ("problem.html", "Không thực hiện được yêu cầu")

_MEDIA_RANGE = re.compile(
    r"\s*(?P<type>[^;,\s]+)\s*(?:;[^,]*?[Qq]\s*=\s*(?P<q>[01](?:\.[0-9]{0,3})?))?[^,]*"
)


def _quality(accept: str, media_types: tuple[str, ...]) -> float:
    """The highest quality ``accept`` gives one of ``media_types`` by name (0: none)."""
    best = 0.0
    for part in accept.split(","):
        found = _MEDIA_RANGE.match(part)
        if found is not None and found["type"].lower() in media_types:
            best = max(best, min(float(found["q"]) if found["q"] else 1.0, 1.0))
    return best


def wants_page(request: Request) -> bool:
    """Whether ``request`` is a browser's for a page (see the module's docstring)."""
    path = request.url.path
    if path in JSON_API or path.startswith("/api/"):
        return False
    accept = request.headers.get("accept", "")
    html = _quality(accept, ("text/html", "application/xhtml+xml"))
    return html > 0 and html >= _quality(accept, JSON_TYPES)


def error_page(
    request: Request, status: int, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    """The page of a refusal or failure with ``status``; ``message`` (what went wrong) is
    shown in Vietnamese by the pages that say more than their title."""
    template, title = PAGES.get(status, OTHER)
    answer = page(
        template,
        status,
        who=None,
        csrf="",
        path=request.url.path,
        auditor=False,
        title=title,
        message=render(message, "vi"),
    )
    answer.headers.update(
        {**HEADERS, "Content-Language": "vi", "Vary": "Accept", **(headers or {})}
    )
    return answer

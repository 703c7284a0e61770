"""The template engine of the pages: Jinja2, autoescaped, with the filters that write money
(``1.234.567 ₫``), numbers (``1.234``), dates (``dd/mm/yyyy``), catalogue names and the API
reference's descriptions (``inline``: `backticked` parts as code)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape
from starlette.responses import HTMLResponse

from ledger import catalogue

TEMPLATES = Path(__file__).parent / "templates"


def number(value: Any) -> str:
    return f"{int(value or 0):,}".replace(",", ".")


def money(value: Any) -> str:
    return f"{number(value)} ₫"


def date(value: Any) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = dt.date.fromisoformat(value[:10])
    return f"{value:%d/%m/%Y}"


def moment(value: Any) -> str:
    """A recorded time (UTC) as ``dd/mm/yyyy HH:MM UTC``."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return f"{value.astimezone(dt.UTC):%d/%m/%Y %H:%M} UTC"


def view_vi(view: Any) -> str:
    """A past view (``api.reports.View``) in Vietnamese."""
    known = view.as_known_at
    if isinstance(known, dt.datetime):
        when = f"như đã biết lúc {moment(known)}"
    elif known is not None:
        when = f"như đã biết tại vị trí {number(known)}"
    else:
        when = "như đã biết hiện nay"
    dated = f"tính đến ngày {date(view.as_of)}" if view.as_of else "mọi ngày hiệu lực"
    return (
        f"Xem lại: {when}, {dated} (vị trí {number(view.position)} của sổ cái; dựng lại từ sổ cái)"
    )


CODE = re.compile(r"``(.+?)``|`([^`]+)`")


def inline(text: str) -> Markup:
    """Text (escaped) whose parts in backticks (one or two) are code."""
    escaped = str(escape(text))
    return Markup(CODE.sub(lambda m: f"<code>{m.group(1) or m.group(2)}</code>", escaped))


def project_name(code: str) -> str:
    found = catalogue.PROJECTS.get(code)
    return f"{code} – {found.name_vi}" if found else code


def target_name(code: str) -> str:
    found = catalogue.TARGETS.get(code)
    return (found.name_vi[:1].upper() + found.name_vi[1:]) if found else code


def source_name(code: str) -> str:
    found = catalogue.SOURCES.get(code)
    return found.name_vi if found else code


def channel_name(code: str) -> str:
    found = catalogue.CHANNELS.get(code)
    return found.name_vi if found else code


def department_name(code: str) -> str:
    found = catalogue.DEPARTMENTS.get(code)
    return found.name_vi if found else code


def district_name(code: str) -> str:
    return catalogue.DISTRICTS.get(code, code)


def support_type_name(code: str) -> str:
    found = catalogue.SUPPORT_TYPES.get(code)
    return found.name_vi if found else code


STATUS_VI = {
    "submitted": "Đã nộp",
    "returned": "Trả lại bổ sung",
    "appraised": "Đã thẩm định",
    "approved": "Đã phê duyệt",
    "rejected": "Không phê duyệt",
    "withdrawn": "Đã rút",
    "contracted": "Đã ký hợp đồng",
    "accepted": "Đã nghiệm thu",
    "settled": "Đã thanh lý",
    "cancelled": "Đã hủy",
}

AMOUNT_VI = {
    "total_cost": "tổng kinh phí",
    "requested": "đề nghị",
    "recommended": "đề xuất thẩm định",
    "approved": "phê duyệt",
    "amount": "số tiền",
    "budget": "kinh phí",
    "released": "giải phóng",
    "counterpart_spent": "vốn đối ứng đã chi",
    "carried_out": "chuyển nguồn",
    "cancelled": "hủy dự toán",
}

ESTIMATE_STATUS_VI = {
    "collecting": "Đang tổng hợp nhu cầu",
    "drafted": "Đã lập dự thảo, chờ thẩm định",
    "returned": "Sở Tài chính trả lại để lập lại",
    "appraised": "Đã thẩm định, chờ phê duyệt",
    "approved": "Đã phê duyệt và giao dự toán",
}


def estimate_input(code: str) -> str:
    """What a draft line's justification reads (``ledger/estimate_method.py``)."""
    if code.startswith("target:"):
        return f"Mục tiêu: {target_name(code.removeprefix('target:'))}"
    return {
        "pipeline": "Hồ sơ đang xử lý (theo tỷ lệ được duyệt)",
        "needs": "Nhu cầu các sở/ngành báo cáo",
        "activities": "Hoạt động của các sở/ngành (bình quân năm)",
        "unpaid_commitments": "Cam kết chưa chi (tham khảo, không cộng vào)",
    }.get(code, code)


ROLE_VI = {
    "admin": "Quản trị",
    "officer": "Cán bộ",
    "finance": "Sở Tài chính",
    "leader": "Lãnh đạo",
    "inspector": "Thanh tra",
    "viewer": "Người xem",
}

environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.filters.update(
    number=number,
    money=money,
    date=date,
    moment=moment,
    project=project_name,
    source=source_name,
    target=target_name,
    channel=channel_name,
    department=department_name,
    district=district_name,
    support_type=support_type_name,
    status=lambda code: STATUS_VI.get(code, code),
    amount_label=lambda code: AMOUNT_VI.get(code, code),
    view=view_vi,
    role=lambda code: ROLE_VI.get(code, code),
    estimate_status=lambda code: ESTIMATE_STATUS_VI.get(code, code),
    estimate_input=estimate_input,
    inline=inline,
)
environment.globals.update(program=catalogue.PROGRAM, projects=catalogue.PROJECTS)


def page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    """The template ``name`` rendered with ``context`` as an HTML response."""
    return HTMLResponse(environment.get_template(name).render(**context), status_code=status)

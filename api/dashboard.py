"""The dashboard: one small Vietnamese page, no sign-in, no scripts, no CDN (works offline).

The program's title, the health of the ledger (database, last position), the integrity of
the log (how much of it the Merkle tree holds, the newest signed checkpoint) and the budget
lines per year × project × source, money in đồng formatted ``1.234.567 ₫``. Every piece of
text is escaped. Rendering is blocking (it reads the ledger): call it in a worker thread.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from html import escape
from typing import Any

from api.read_side import ReadSide
from ledger import catalogue
from ledger.budget_line import format_vnd
from ledger.checkpoint import Checkpoint
from ledger.service import Ledger
from projections import checkpoints
from projections.merkle import NAME as TREE
from projections.projector import Projector

COLUMNS = (
    ("assigned", "Dự toán giao"),
    ("carried_in", "Chuyển nguồn từ năm trước"),
    ("committed", "Đã cam kết"),
    ("disbursed", "Đã giải ngân"),
    ("recovered", "Đã thu hồi"),
    ("carried_out", "Chuyển nguồn sang năm sau"),
    ("cancelled", "Hủy dự toán"),
    ("available", "Còn lại chưa cam kết"),
)

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;margin:0;
color:#1b1f24;background:#f6f7f9}
header{background:#a50e0e;color:#fff;padding:1rem 1.5rem}
header h1{font-size:1.25rem;margin:0 0 .25rem}
header p{margin:0;opacity:.9}
main{padding:1rem 1.5rem}
.health{margin:0 0 1rem;padding:.5rem .75rem;background:#fff;border:1px solid #d8dde3;
border-radius:4px;display:inline-block}
.ok{color:#11733b;font-weight:600}
table{border-collapse:collapse;background:#fff;width:100%}
caption{text-align:left;font-weight:600;padding:.5rem 0}
th,td{border:1px solid #d8dde3;padding:.35rem .6rem;vertical-align:top}
th{background:#eef1f4;text-align:left}
td.money,th.money{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
.empty{color:#5b6570;font-style:italic}
footer{padding:1rem 1.5rem;color:#5b6570;font-size:.85rem}
"""


def _number(value: int) -> str:
    return f"{value:,}".replace(",", ".")


def _cell(value: Any, money: bool = False) -> str:
    if money:
        return f'<td class="money">{escape(format_vnd(int(value)))}</td>'
    return f"<td>{escape(str(value))}</td>"


def _row(line: dict[str, Any]) -> str:
    project = catalogue.PROJECTS.get(line["project"])
    channel = catalogue.CHANNELS.get(line["channel"])
    project_text = f"{line['project']} – {project.name_vi}" if project else line["project"]
    source_text = channel.name_vi if channel else line["channel"]
    cells = [_cell(line["budget_year"]), _cell(project_text), _cell(source_text)]
    cells += [_cell(line[key], money=True) for key, _ in COLUMNS]
    return "<tr>" + "".join(cells) + "</tr>"


@dataclass(frozen=True)
class Integrity:
    """What the page says of the log's integrity."""

    tree_size: int  # events the Merkle tree holds
    checkpoint: Checkpoint | None  # the newest signed checkpoint


def integrity(projector: Projector) -> Integrity:
    with projector.ledger.engine.connect() as connection:
        newest = checkpoints.latest(connection)
    return Integrity(projector.position(TREE), newest)


def _integrity(found: Integrity | None, position: int) -> str:
    if found is None:
        return ""
    tree = f"Cây Merkle: {_number(found.tree_size)}/{_number(position)} sự kiện"
    held = found.checkpoint
    if held is None:
        said = "chưa có điểm kiểm tra (chạy <code>ledger checkpoint</code>)"
    else:
        made = dt.datetime.fromisoformat(held.created_at.replace("Z", "+00:00"))
        said = (
            f"điểm kiểm tra gần nhất: {_number(held.tree_size)} sự kiện, "
            f"{made.strftime('%d/%m/%Y %H:%M')} UTC, khóa {escape(held.key_id)}, "
            f"gốc <code>{escape(held.root_hash[:16])}…</code>"
        )
    return f'<p class="health">Toàn vẹn dữ liệu: {tree} · {said}</p>\n'


def page(read_side: ReadSide, _: Any, __: Any, ___: Any) -> str:
    """The reader of ``GET /``: the page, with the log's integrity."""
    return render(read_side.ledger, integrity=integrity(read_side.projector))


def render(
    ledger: Ledger, now: dt.datetime | None = None, integrity: Integrity | None = None
) -> str:
    now = now or dt.datetime.now(dt.UTC)
    lines = ledger.get_budget_lines()
    position = ledger.position()
    program = catalogue.PROGRAM
    head = "".join(f'<th class="money" scope="col">{escape(label)}</th>' for _, label in COLUMNS)
    if lines:
        body = "\n".join(_row(line) for line in lines)
    else:
        empty = "Chưa có dòng dự toán nào."
        body = f'<tr><td class="empty" colspan="{3 + len(COLUMNS)}">{empty}</td></tr>'
    return f"""<!doctype html>
<html lang="vi">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(program.name_vi)}</title>
<style>{STYLE}</style>
</head>
<body>
<header>
<h1>{escape(program.name_vi)}</h1>
<p>Quyết định {escape(program.decision_no)} ngày {program.decided_on.strftime("%d/%m/%Y")} \
– sổ cái ngân sách và kinh phí hỗ trợ</p>
</header>
<main>
<p class="health">Tình trạng: <span class="ok">hoạt động</span> · Cơ sở dữ liệu: \
{escape(ledger.database)} · Vị trí sự kiện cuối: {_number(position)} · \
Cập nhật: {now.strftime("%d/%m/%Y %H:%M")} UTC</p>
{_integrity(integrity, position)}<table>
<caption>Dự toán ngân sách thành phố theo năm × dự án × kênh bố trí kinh phí (đồng)</caption>
<thead><tr><th scope="col">Năm</th><th scope="col">Dự án</th><th scope="col">Kênh</th>\
{head}</tr></thead>
<tbody>
{body}
</tbody>
</table>
</main>
<footer>API: <a href="/openapi.json">/openapi.json</a> · <a href="/api/health">/api/health</a>\
</footer>
</body>
</html>
"""

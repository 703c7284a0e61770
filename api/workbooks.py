"""The reports as XLSX workbooks: the program report, the estimate report and budget
execution (``?format=xlsx``, ``ledger report … --out FILE``).

A workbook is drawn from the report's JSON answer and says nothing the answer does not:
Vietnamese headings, đồng as whole numbers with thousands separators (``#,##0``: the
separator is the reader's locale's, a dot in Vietnamese), one sheet per section, the title
naming the period on every sheet and, at its foot, the position of the log the figures
reflect, its Merkle root and the signed checkpoint they agree with. Every total is a SUM
formula over the cells above it, written with its value (the JSON total), so a spreadsheet
shows the same figure before and after it recalculates; a count of distinct enterprises is
not a sum (an enterprise supported twice counts once) and is written as a value.

Written with XlsxWriter in its constant-memory mode (rows go to disk as they are written):
README, "Benchmarks", says how it compares with openpyxl's write-only mode.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import xlsxwriter
from xlsxwriter.utility import xl_rowcol_to_cell
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from api.endpoints import Download
from ledger import catalogue

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

#: Vietnamese names of the money figures
FIGURES_VI: dict[str, str] = {
    "proposed": "Dự toán đề xuất",
    "appraised": "Thẩm định",
    "approved": "Dự toán được phê duyệt",
    "adjusted": "Điều chỉnh",
    "assigned": "Dự toán được giao",
    "carried_in": "Chuyển nguồn từ năm trước",
    "committed": "Đã cam kết",
    "disbursed": "Đã giải ngân",
    "recovered": "Thu hồi",
    "carried_out": "Chuyển nguồn sang năm sau",
    "cancelled": "Hủy dự toán",
}
SUPPORT_VI = {
    "applications": "Số hồ sơ được phê duyệt",
    "enterprises": "Số doanh nghiệp được hỗ trợ",
    "approved": "Kinh phí NSTP được duyệt (đồng)",
    "cancelled": "Số hồ sơ đã duyệt bị hủy trong kỳ",
    "paid": "Kinh phí NSTP đã chi trong kỳ (đồng)",
}
BREAKDOWNS_VI = {
    "support_type": "Theo loại hỗ trợ",
    "project": "Theo dự án",
    "district": "Theo quận, huyện (nơi doanh nghiệp ở khi được hỗ trợ)",
    "sector": "Theo ngành, lĩnh vực",
    "size": "Theo quy mô doanh nghiệp",
}
#: what a code of each breakdown is called
_NAMES: dict[str, Callable[[str], str]] = {
    "support_type": lambda c: (
        _first_upper(catalogue.SUPPORT_TYPES[c].name_vi) if c in catalogue.SUPPORT_TYPES else c
    ),
    "project": lambda c: f"{c} – {catalogue.PROJECTS[c].name_vi}" if c in catalogue.PROJECTS else c,
    "district": lambda c: _district(c),
    "sector": lambda c: _first_upper(catalogue.SECTORS.get(c, c)),
    "size": lambda c: _first_upper(catalogue.SIZES.get(c, c)),
}


#: what a target counts, in Vietnamese
UNITS_VI = {
    "enterprises": "doanh nghiệp",
    "registrations": "đơn đăng ký",
    "marks": "nhãn hiệu, chỉ dẫn địa lý",
    "standards": "tiêu chuẩn",
}


def _first_upper(text: str) -> str:
    return text[:1].upper() + text[1:]


def _district(code: str) -> str:
    name = catalogue.DISTRICTS.get(code, code)
    if code in catalogue.HISTORICAL_DISTRICTS:
        return f"{name} (đến năm {catalogue.HISTORICAL_DISTRICTS[code]})"
    return name


def _source(code: str) -> str:
    found = catalogue.SOURCES.get(code)
    return found.name_vi if found is not None else code


def _channel(code: str) -> str:
    found = catalogue.CHANNELS.get(code)
    return found.name_vi if found is not None else code


def _department(code: str) -> str:
    found = catalogue.DEPARTMENTS.get(code)
    return found.name_vi if found is not None else code


# -- a sheet, written top to bottom ------------------------------------------------------------


@dataclass
class Styles:
    title: Any
    heading: Any
    money: Any
    total_label: Any
    total_money: Any
    note: Any
    percent: Any


class Sheet:
    """A worksheet written row by row (constant memory), with the report's title on top."""

    def __init__(self, book: Workbook, styles: Styles, name: str, title: str) -> None:
        self.sheet: Worksheet = book.add_worksheet(name[:31])
        self.styles = styles
        self.row = 0
        self.sheet.set_column(0, 0, 44)
        self.sheet.set_column(1, 30, 18)
        self.line(title, style=styles.title)
        self.row += 1

    def line(self, text: str, style: Any = None) -> None:
        self.sheet.write_string(self.row, 0, text, style or self.styles.note)
        self.row += 1

    def heading(self, labels: Sequence[str]) -> None:
        for col, label in enumerate(labels):
            self.sheet.write_string(self.row, col, label, self.styles.heading)
        self.row += 1

    def values(self, values: Sequence[Any]) -> None:
        for col, value in enumerate(values):
            self._write(col, value, self.styles.money)
        self.row += 1

    def _write(self, col: int, value: Any, style: Any) -> None:
        if value is None:
            self.sheet.write_blank(self.row, col, None)
        elif isinstance(value, bool):
            self.sheet.write_string(self.row, col, "có" if value else "không")
        elif isinstance(value, int):
            self.sheet.write_number(self.row, col, value, style)
        elif isinstance(value, float):
            self.sheet.write_number(self.row, col, value, self.styles.percent)
        else:
            self.sheet.write_string(self.row, col, str(value))

    def totals(
        self, label: str, first_row: int, columns: dict[int, int | None], values: dict[int, Any]
    ) -> None:
        """A total row: SUM over ``first_row`` up to the row above for each column of
        ``columns`` (its JSON total as the cached value); ``values``: cells written as they
        are (a distinct count)."""
        self.sheet.write_string(self.row, 0, label, self.styles.total_label)
        for col, total in columns.items():
            if self.row == first_row:
                self.sheet.write_number(self.row, col, total or 0, self.styles.total_money)
                continue
            top = xl_rowcol_to_cell(first_row, col)
            bottom = xl_rowcol_to_cell(self.row - 1, col)
            self.sheet.write_formula(
                self.row, col, f"=SUM({top}:{bottom})", self.styles.total_money, total or 0
            )
        for col, value in values.items():
            self._write(col, value, self.styles.total_money)
        self.row += 1

    def footer(self, answer: dict[str, Any]) -> None:
        """The rows at the sheet's foot, and its printed footer (position, root, page)."""
        self.row += 1
        for text in footer_lines(answer):
            self.line(text)
        evidence = answer.get("evidence") or {}
        root = evidence.get("root_hash") or ""
        self.sheet.set_footer(
            f"&L&8Vị trí sổ cái {answer['position']} · gốc Merkle {root[:16]}…&R&8Trang &P/&N"
        )


def footer_lines(answer: dict[str, Any]) -> list[str]:
    """Where the figures come from: the log's position, its Merkle root, the checkpoint."""
    evidence = answer.get("evidence") or {}
    position = evidence.get("position", answer.get("position"))
    lines = [
        f"Số liệu lấy từ sổ cái đến vị trí {position:,} (số sự kiện).".replace(",", "."),
        f"Mã băm gốc Merkle của {position:,} sự kiện đầu: ".replace(",", ".")
        + (evidence.get("root_hash") or "chưa tính được"),
    ]
    checkpoint = evidence.get("checkpoint")
    if checkpoint is None:
        lines.append("Điểm kiểm tra có chữ ký: chưa có (no checkpoint yet).")
    else:
        lines.append(
            f"Điểm kiểm tra có chữ ký: cây {checkpoint['tree_size']:,} sự kiện, ".replace(",", ".")
            + f"mã băm gốc {checkpoint['root_hash']}, khóa {checkpoint['key_id']}, "
            f"ký lúc {checkpoint['created_at']}."
        )
    view = answer.get("view")
    if view is not None:
        lines.append(f"Xem lại quá khứ: as_known_at={view['as_known_at']}, as_of={view['as_of']}.")
    return lines


def _styles(book: Workbook) -> Styles:
    money = "#,##0"
    return Styles(
        title=book.add_format({"bold": True, "font_size": 13}),
        heading=book.add_format(
            {"bold": True, "text_wrap": True, "bg_color": "#E8EEF7", "border": 1}
        ),
        money=book.add_format({"num_format": money}),
        total_label=book.add_format({"bold": True, "top": 1}),
        total_money=book.add_format({"bold": True, "num_format": money, "top": 1}),
        note=book.add_format({"italic": False}),
        percent=book.add_format({"num_format": "0.0"}),
    )


# -- the three reports -----------------------------------------------------------------------


def _program(book: Workbook, styles: Styles, answer: dict[str, Any]) -> None:
    period = answer["period"]
    title = period["title"]
    years = [str(y) for y in range(period["from"], period["to"] + 1)]

    sheet = Sheet(book, styles, "Mục tiêu", title)
    sheet.line("1. Kết quả thực hiện các mục tiêu của Chương trình (mục I.2.2 Quyết định 6374)")
    sheet.heading(
        ["Mục tiêu", "Dự án", "Đơn vị", "Chỉ tiêu", *years, "Trong kỳ", "Lũy kế", "% chỉ tiêu"]
    )
    for row in answer["targets"]:
        name = (
            catalogue.TARGETS[row["target"]].name_vi
            if row["target"] in catalogue.TARGETS
            else row["target"]
        )
        sheet.values(
            [
                _first_upper(name),
                row["project"],
                UNITS_VI.get(row["unit"], row["unit"]),
                row["target_value"],
                *(row["by_year"].get(y, 0) for y in years),
                row["in_period"],
                row["achieved"],
                float(row["percent"]),
            ]
        )
    sheet.footer(answer)

    support = answer["support"]
    sheet = Sheet(book, styles, "Hỗ trợ doanh nghiệp", title)
    sheet.line("2. Doanh nghiệp được hỗ trợ và kinh phí hỗ trợ")
    for breakdown, label in BREAKDOWNS_VI.items():
        sheet.row += 1
        sheet.line(label, styles.total_label)
        sheet.heading(["", *SUPPORT_VI.values()])
        first = sheet.row
        for row in support["by"][breakdown]:
            sheet.values(
                [
                    _NAMES[breakdown](row[breakdown] or "") or "(chưa rõ)",
                    *(row[f] for f in SUPPORT_VI),
                ]
            )
        total = support["total"]
        sheet.totals(
            "Tổng cộng",
            first,
            {
                1: total["applications"],
                3: total["approved"],
                4: total["cancelled"],
                5: total["paid"],
            },
            {2: total["enterprises"]},
        )
    sheet.line(
        "Số doanh nghiệp ở dòng tổng cộng đếm mỗi doanh nghiệp một lần, nên có thể nhỏ hơn tổng "
        "các dòng."
    )
    sheet.footer(answer)

    money = answer["money"]
    sheet = Sheet(book, styles, "Kinh phí", title)
    sheet.line("3. Kinh phí ngân sách thành phố theo dự án, nguồn và kênh (đồng)")
    figures = list(money["totals"])
    sheet.heading(["Dự án", "Nguồn", "Kênh", *(FIGURES_VI.get(f, f) for f in figures)])
    first = sheet.row
    for row in money["rows"]:
        sheet.values(
            [
                row["project"],
                _source(row["source"]),
                _channel(row["channel"]),
                *(row[f] for f in figures),
            ]
        )
    sheet.totals("Tổng cộng", first, {3 + i: money["totals"][f] for i, f in enumerate(figures)}, {})
    sheet.row += 1
    sheet.line("Vốn đối ứng của doanh nghiệp và nguồn khác (đồng)", styles.total_label)
    counterpart_figures = {
        "pledged_enterprise": "Doanh nghiệp cam kết (phê duyệt trong kỳ)",
        "pledged_other": "Nguồn khác cam kết",
        "accepted_applications": "Số hồ sơ nghiệm thu trong kỳ",
        "city_paid": "NSTP đã chi cho các hồ sơ đó",
        "spent_enterprise": "Doanh nghiệp đã chi",
        "spent_other": "Nguồn khác đã chi",
    }
    sheet.heading(["Dự án", *counterpart_figures.values(), "% NSTP", "% doanh nghiệp", "% khác"])
    first = sheet.row
    for row in money["counterpart"]:
        shares = row["shares_percent"]
        sheet.values(
            [
                row["project"],
                *(row[f] for f in counterpart_figures),
                *(float(v) if v is not None else None for v in shares.values()),
            ]
        )
    sheet.totals(
        "Tổng cộng",
        first,
        {1 + i: sum(r[f] for r in money["counterpart"]) for i, f in enumerate(counterpart_figures)},
        {},
    )
    sheet.footer(answer)

    sheet = Sheet(book, styles, "Hoạt động các sở, ngành", title)
    sheet.line("4. Hoạt động do các sở, ngành, quận, huyện tổ chức thực hiện")
    sheet.heading(
        [
            "Đơn vị",
            "Số hoạt động được duyệt",
            "Kinh phí được duyệt (đồng)",
            "Đã chi trong kỳ (đồng)",
        ]
    )
    first = sheet.row
    activities = answer["activities"]
    for row in activities:
        sheet.values(
            [_department(row["department"]), row["activities"], row["budget"], row["spent"]]
        )
    sheet.totals(
        "Tổng cộng",
        first,
        {
            i + 1: sum(r[f] for r in activities)
            for i, f in enumerate(("activities", "budget", "spent"))
        },
        {},
    )
    sheet.footer(answer)


def _estimate(book: Workbook, styles: Styles, answer: dict[str, Any]) -> None:
    year = answer["budget_year"]
    title = f"Dự toán kinh phí năm {year} của Chương trình nâng cao năng suất và chất lượng"
    sheet = Sheet(book, styles, f"Dự toán {year}", title)
    stages = ", ".join(answer["stages"]) or "chưa lập"
    sheet.line(f"Các bước đã có: {stages}. Bên cạnh: tình hình thực hiện năm {year - 1}.")
    previous = list(answer["totals"]["previous"])
    sheet.heading(
        [
            "Dự án",
            "Nguồn",
            "Kênh",
            "Đề xuất",
            "Thẩm định",
            "Lý do thay đổi khi thẩm định",
            "Phê duyệt",
            *(f"{FIGURES_VI[f]} năm {year - 1}" for f in previous),
        ]
    )
    first = sheet.row
    for row in answer["rows"]:
        sheet.values(
            [
                row["project"],
                _source(row["source"]),
                _channel(row["channel"]),
                row["proposed"],
                row["appraised"],
                row["reason"],
                row["approved"],
                *(row["previous"][f] for f in previous),
            ]
        )
    totals = answer["totals"]
    columns: dict[int, int | None] = {
        col: totals[stage]
        for col, stage in ((3, "proposed"), (4, "appraised"), (6, "approved"))
        if totals[stage] is not None
    }
    columns.update({7 + i: totals["previous"][f] for i, f in enumerate(previous)})
    sheet.totals("Tổng cộng", first, columns, {})
    sheet.footer(answer)


def _execution(book: Workbook, styles: Styles, answer: dict[str, Any]) -> None:
    year = answer["budget_year"]
    when = f"năm {year}" if year is not None else "các năm"
    title = f"Tình hình thực hiện dự toán {when} – Chương trình nâng cao năng suất và chất lượng"
    sheet = Sheet(book, styles, "Thực hiện dự toán", title)
    figures = list(answer["totals"])
    sheet.heading(["Năm", "Dự án", "Nguồn", "Kênh", *(FIGURES_VI[f] for f in figures)])
    first = sheet.row
    for row in answer["rows"]:
        sheet.values(
            [
                row["budget_year"],
                row["project"],
                _source(row["source"]),
                _channel(row["channel"]),
                *(row[f] for f in figures),
            ]
        )
    sheet.totals(
        "Tổng cộng", first, {4 + i: answer["totals"][f] for i, f in enumerate(figures)}, {}
    )
    sheet.footer(answer)


WRITERS: dict[str, Callable[[Workbook, Styles, dict[str, Any]], None]] = {
    "program": _program,
    "estimate": _estimate,
    "execution": _execution,
}


def write(report: str, answer: dict[str, Any], path: str) -> None:
    """Write the workbook of ``report`` (program, estimate or execution) to ``path``."""
    book = xlsxwriter.Workbook(path, {"constant_memory": True})
    try:
        WRITERS[report](book, _styles(book), answer)
    finally:
        book.close()


def filename(report: str, answer: dict[str, Any]) -> str:
    if report == "program":
        period = answer["period"]
        span = (
            str(period["from"])
            if period["from"] == period["to"]
            else f"{period['from']}-{period['to']}"
        )
        return f"bao-cao-chuong-trinh-{span}-vi-tri-{answer['position']}.xlsx"
    if report == "estimate":
        return f"du-toan-{answer['budget_year']}-vi-tri-{answer['position']}.xlsx"
    year = answer["budget_year"] or "cac-nam"
    return f"thuc-hien-du-toan-{year}-vi-tri-{answer['position']}.xlsx"


def download(report: str, answer: dict[str, Any]) -> Download:
    """The workbook as a file to send (read from an unlinked temporary file)."""
    descriptor, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(descriptor)
    try:
        write(report, answer, path)
        file = open(path, "rb")  # noqa: SIM115 - closed by api.app once sent
    finally:
        os.unlink(path)
    return Download(file, filename(report, answer), MEDIA_TYPE)

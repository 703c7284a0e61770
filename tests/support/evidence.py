"""Reading the audit trail's evidence exports back: the CSV (BOM, ``#`` facts, rows) and the
XLSX (the trail sheet and the facts sheet)."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import openpyxl

BOM = b"\xef\xbb\xbf"
#: the columns of the audit trail's exports
HEADERS = [
    "Vị trí",
    "Thời điểm ghi (UTC)",
    "Ngày hiệu lực",
    "Loại bản ghi",
    "Mã bản ghi",
    "Loại sự kiện",
    "Người thực hiện",
    "Họ tên người thực hiện",
    "Đơn vị",
    "Tên đơn vị",
    "Số tiền",
    "Chi tiết số tiền",
    "Tham chiếu",
    "Diễn giải",
    "Mã băm lá",
]


FACT = re.compile(r"^# (?P<label>.+?) \((?P<key>[a-z_.]+)\): (?P<value>.*)$")


def read_csv(data: bytes) -> tuple[dict[str, str], list[str], list[list[str]]]:
    """(facts by key, header, rows) of a CSV export: BOM, then '#' lines, then the CSV."""
    assert data.startswith(BOM + b"# "), data[:40]
    text = data.decode("utf-8-sig")
    lines = text.split("\r\n")
    facts: dict[str, str] = {}
    while lines[0].startswith("#"):
        found = FACT.match(lines.pop(0))
        assert found is not None
        facts[found["key"]] = found["value"]
    header, *rows = csv.reader(io.StringIO("\r\n".join(lines), newline=""))
    return facts, header, rows


def read_xlsx(data: bytes) -> tuple[dict[str, Any], list[Any], list[list[Any]]]:
    """(facts by key, header cells, row cells) of an XLSX export."""
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["Nhật ký kiểm toán", "Thông tin xuất"]
    about = list(book["Thông tin xuất"].iter_rows(values_only=True))
    assert about[0] == ("Mục", "Khóa", "Giá trị")
    facts = {key: value for _, key, value in about[1:]}
    header, *rows = (list(row) for row in book["Nhật ký kiểm toán"].iter_rows())
    return facts, header, rows

"""Evidence exports: the audit trail as XLSX and CSV holds exactly the rows the audit-trail
report answers for the same filters, written the Vietnamese way, and names the newest signed
checkpoint of at most the events it reflects."""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any
from uuid import UUID

import openpyxl
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from ledger import checkpoint as cp
from ledger import commands as c
from ledger import merkle as tree
from ledger.budget_line import format_vnd
from ledger.service import Ledger
from projections import audit_trail, checkpoints, evidence, merkle
from projections.projector import Projector
from tests.support.demo import load_demo
from tests.support.evidence import HEADERS, read_csv, read_xlsx
from tests.support.people import People
from tests.support.scenario import Scenario
from tests.support.story import Story

NAME = "audit_trail"
SCALE = 0.02
NO_CHECKPOINT = "chưa có điểm kiểm tra (no checkpoint yet)"


# -- reading the files back (the CSV and XLSX readers: tests/support/evidence.py) ---------------


def exported(projector: Projector, fmt: str, **filters: Any) -> bytes:
    out = io.BytesIO()
    evidence.export(projector, out, fmt, evidence.AuditFilters(**filters))  # type: ignore[arg-type]
    return out.getvalue()


def trail(projector: Projector, **filters: Any) -> list[dict[str, Any]]:
    """Every page of the audit-trail report for these filters."""
    rows: list[dict[str, Any]] = []
    page: int | None = 1
    with projector.reading(NAME) as (connection, tables, _):
        while page is not None:
            found, page = audit_trail.report(connection, tables, page=page, page_size=97, **filters)
            rows.extend(found)
    return rows


def main_sum(amounts: dict[str, Any]) -> int | None:
    """The money an event moves, as the column "Số tiền" must show it."""
    for kind in (
        "amount",
        "budget",
        "released",
        "total_cost",
        "approved",
        "recommended",
        "total",
        "max_amount",
        "carried_out",
        "counterpart_spent",
    ):
        if kind in amounts:
            value = amounts[kind]
            return sum(value.values()) if isinstance(value, dict) else value
    assert not amounts, amounts
    return None


def stored_leaves(ledger: Ledger) -> dict[int, str]:
    """Every event's RFC 9162 leaf hash, computed here from the stored rows."""
    table = ledger.events_table
    query = select(
        table.c.id, table.c.originator_id, table.c.originator_version, table.c.state, table.c.topic
    )
    with ledger.engine.connect() as connection:
        return {
            row.id: tree.event_leaf_hash(
                row.originator_id,
                row.originator_version,
                row.id,
                merkle.stored_bytes(row.state),
                row.topic,
            ).hex()
            for row in connection.execute(query)
        }


def caught_up_demo(ledger: Ledger) -> Projector:
    load_demo(ledger, scale=SCALE)
    projector = Projector(ledger)
    projector.catch_up()
    return projector


# -- the rows -----------------------------------------------------------------------------------


def test_both_files_hold_every_row_of_the_report_written_the_vietnamese_way(ledger: Ledger) -> None:
    # Step 1: the demo, folded; the report's rows and the stored events' leaf hashes.
    projector = caught_up_demo(ledger)
    expected = trail(projector)
    assert len(expected) == ledger.position() > 500
    leaves = stored_leaves(ledger)

    # Step 2: the CSV: one row per report row, in order, every column as the report says.
    facts, header, rows = read_csv(exported(projector, "csv"))
    assert header == HEADERS
    assert facts["position"] == str(ledger.position())
    assert facts["rows"] == str(len(expected))
    assert len(rows) == len(expected)
    for row, want in zip(rows, expected, strict=True):
        recorded = dt.datetime.fromisoformat(want["recorded_at"])
        money = main_sum(want["amounts"])
        assert row[:11] == [
            str(want["position"]),
            recorded.strftime("%d/%m/%Y %H:%M:%S"),
            dt.date.fromisoformat(want["effective_date"]).strftime("%d/%m/%Y"),
            want["record_type"],
            want["record_id"],
            want["event_type"],
            want["actor"],
            want["actor_name"] or "",
            want["department"],
            want["department_name"] or "",
            "" if money is None else format_vnd(money),
        ], want
        assert row[13:] == [want["summary"], leaves[want["position"]]]
        for value in re.findall(r"\d[\d.]* ₫", row[11]):  # every sum in đồng, dots grouping
            assert re.fullmatch(r"-?\d{1,3}(\.\d{3})* ₫", value), row[11]
        for number in want["references"].values():
            assert number in row[12]

    # Step 3: the XLSX: the same rows, money as numbers formatted in đồng, dates as dates.
    facts_x, cells, rows_x = read_xlsx(exported(projector, "xlsx"))
    assert [cell.value for cell in cells] == HEADERS
    assert all(cell.font.b for cell in cells)
    assert facts_x["position"] == ledger.position() and facts_x["rows"] == len(expected)
    assert len(rows_x) == len(expected)
    for row_x, row in zip(rows_x, rows, strict=True):
        values = [cell.value for cell in row_x]
        assert values[0] == int(row[0])
        assert row_x[1].number_format == "dd/mm/yyyy hh:mm:ss"
        assert values[1].strftime("%d/%m/%Y %H:%M:%S") == row[1]
        assert row_x[2].number_format == "dd/mm/yyyy"
        assert values[2].strftime("%d/%m/%Y") == row[2]
        assert [v or "" for v in values[3:10]] == row[3:10]
        if row[10]:
            assert isinstance(values[10], int)
            assert format_vnd(values[10]) == row[10]
            assert row_x[10].number_format == '#,##0 "₫"'
        else:
            assert values[10] is None
        assert [v or "" for v in values[11:]] == row[11:]


def test_an_application_reads_in_dong_with_its_references_and_dates(
    ledger: Ledger, people: People
) -> None:
    # Step 1: a dossier of 100 million asking 60 million of the city budget, approved.
    story = Story(ledger, people)
    story.budget()
    app_id = story.submit("HS-2015-077", city=60_000_000, enterprise=40_000_000).id
    story.appraise(app_id, 55_000_000, 40_000_000)
    story.approve(app_id, 60_000_000, 40_000_000)
    projector = Projector(ledger)
    projector.catch_up()

    # Step 2: the application's rows in the CSV.
    _, _, rows = read_csv(exported(projector, "csv", record_id=app_id))
    by_type = {row[5]: row for row in rows}
    assert list(by_type) == [
        "SupportApplication.Submitted",
        "SupportApplication.Appraised",
        "SupportApplication.Approved",
    ]
    submitted = by_type["SupportApplication.Submitted"]
    assert submitted[2] == "01/02/2015"
    assert submitted[6:10] == [
        people.officer.user_id,
        "Nguyễn Văn An",
        "SKHCN",
        "Sở Khoa học và Công nghệ",
    ]
    assert submitted[10] == "100.000.000 ₫"
    assert submitted[11] == (
        "tổng kinh phí: 100.000.000 ₫; đề nghị hỗ trợ: ngân sách thành phố 60.000.000 ₫, "
        "vốn doanh nghiệp 40.000.000 ₫"
    )
    assert submitted[12] == "số hồ sơ: HS-2015-077"
    appraised = by_type["SupportApplication.Appraised"]
    assert (appraised[2], appraised[10], appraised[12]) == ("15/02/2015", "95.000.000 ₫", "")
    assert appraised[11] == (
        "đề xuất hỗ trợ: ngân sách thành phố 55.000.000 ₫, vốn doanh nghiệp 40.000.000 ₫"
    )
    approved = by_type["SupportApplication.Approved"]
    assert approved[2] == "01/03/2015"
    assert approved[10] == "100.000.000 ₫"
    assert approved[11] == (
        "phê duyệt: ngân sách thành phố 60.000.000 ₫, vốn doanh nghiệp 40.000.000 ₫"
    )
    assert re.fullmatch(r"số quyết định: QĐ-[0-9a-f]{6}", approved[12])

    # Step 3: the commitment on the budget line, and a user's grant without money.
    [committed] = read_csv(exported(projector, "csv", event_type="BudgetLine.Committed"))[2]
    assert (committed[10], committed[11]) == ("60.000.000 ₫", "số tiền: 60.000.000 ₫")
    granted = read_csv(exported(projector, "csv", event_type="User.Granted"))[2]
    assert granted and all(row[10] == row[11] == "" for row in granted)

    # Step 4: in the XLSX the same sums are numbers the sheet can add up.
    _, _, cells = read_xlsx(exported(projector, "xlsx", record_id=app_id))
    assert [row[10].value for row in cells] == [100_000_000, 95_000_000, 100_000_000]
    assert cells[0][2].value == dt.datetime(2015, 2, 1)


# -- the filters --------------------------------------------------------------------------------


def test_the_filters_keep_exactly_the_rows_the_report_keeps(ledger: Ledger) -> None:
    # Step 1: the whole trail of the demo.
    projector = caught_up_demo(ledger)
    everything = trail(projector)
    settled = next(r for r in everything if r["event_type"] == "SupportApplication.Settled")
    payer = next(r for r in everything if r["event_type"] == "SupportApplication.Disbursed")

    # Step 2: each filter, alone or together, in either order, keeps the report's rows, and
    # the file says which filters it used.
    day = dt.date(2016, 3, 1)
    cases: list[tuple[dict[str, Any], dict[str, str]]] = [
        ({"record_id": UUID(settled["record_id"])}, {"record_id": settled["record_id"]}),
        ({"actor": payer["actor"]}, {"actor": payer["actor"]}),
        ({"department": "STC"}, {"department": "STC"}),
        ({"event_type": "BudgetLine.Disbursed"}, {"event_type": "BudgetLine.Disbursed"}),
        ({"from_": day}, {"from": "01/03/2016"}),
        (
            {"to": day, "order": "desc"},
            {"to": "01/03/2016", "order": "giảm dần theo vị trí (desc)"},
        ),
        (
            {
                "from_": dt.date(2015, 1, 1),
                "to": dt.date(2015, 12, 31),
                "department": "SKHCN",
                "event_type": "SupportApplication.Approved",
            },
            {
                "from": "01/01/2015",
                "to": "31/12/2015",
                "department": "SKHCN",
                "event_type": "SupportApplication.Approved",
            },
        ),
    ]
    for given, said in cases:
        expected = [r["position"] for r in trail(projector, **given)]
        assert 0 < len(expected) < len(everything), given
        facts, _, rows = read_csv(exported(projector, "csv", **given))
        assert [int(row[0]) for row in rows] == expected, given
        assert facts["rows"] == str(len(expected))
        assert {k: facts[k] for k in said} == said
        unused = {"record_id", "actor", "department", "event_type", "from", "to"} - set(said)
        assert {facts[k] for k in unused} == {"không lọc"}, given
        facts_x, _, cells = read_xlsx(exported(projector, "xlsx", **given))
        assert [row[0].value for row in cells] == expected, given
        assert facts_x["rows"] == len(expected)
        assert {k: facts_x[k] for k in said} == said

    # Step 3: a filter that keeps nothing gives a file with its header and no rows.
    facts, header, rows = read_csv(exported(projector, "csv", record_id=UUID(int=1)))
    assert (facts["rows"], header, rows) == ("0", HEADERS, [])
    facts_x, cells_h, cells = read_xlsx(exported(projector, "xlsx", record_id=UUID(int=1)))
    assert (facts_x["rows"], len(cells_h), cells) == (0, len(HEADERS), [])


def test_text_a_user_typed_cannot_become_a_formula_or_break_a_line_of_facts(
    ledger: Ledger, people: People
) -> None:
    # Step 1: a budget decision numbered with a control character in it (recorded before
    # commands refused such text: the command is built as it was, unchecked).
    ledger.assign_budget(
        c.AssignBudget.model_construct(
            budget_year=2015,
            project="DA1",
            source="city_budget",
            amount=5_000_000,
            decision_no="QĐ\x0712",
            decided_on=dt.date(2015, 1, 5),
        ),
        people.finance,
    )
    projector = Projector(ledger)
    projector.catch_up()

    # Step 2: the CSV keeps the text as typed; the XLSX, which cannot hold it, marks it.
    _, _, [row] = read_csv(exported(projector, "csv", event_type="BudgetLine.Assigned"))
    assert row[12] == "số quyết định: QĐ\x0712"
    _, _, [cells] = read_xlsx(exported(projector, "xlsx", event_type="BudgetLine.Assigned"))
    assert cells[12].value == "số quyết định: QĐ\ufffd12"

    # Step 3: a filter that looks like a formula is text in the XLSX; one with a line break
    # stays on its own '#' line of the CSV.
    facts, _, cells_x = read_xlsx(exported(projector, "xlsx", actor="=HYPERLINK(1)"))
    assert facts["actor"] == "=HYPERLINK(1)" and cells_x == []
    book = openpyxl.load_workbook(io.BytesIO(exported(projector, "xlsx", actor="=1+2")))
    [actor] = [row for row in book["Thông tin xuất"].iter_rows() if row[1].value == "actor"]
    assert actor[2].data_type == "s"
    facts, header, rows = read_csv(exported(projector, "csv", actor='a\nb,"c'))
    assert facts["actor"] == 'a\\u000ab,"c'
    assert (header, rows) == (HEADERS, [])


# -- the checkpoint -----------------------------------------------------------------------------


def named_checkpoint(projector: Projector) -> tuple[dict[str, Any], dict[str, Any]]:
    """The facts of a CSV and of an XLSX export, made now."""
    facts, _, _ = read_csv(exported(projector, "csv"))
    facts_x, _, _ = read_xlsx(exported(projector, "xlsx"))
    return facts, facts_x


def test_each_file_names_the_newest_checkpoint_of_at_most_its_position(
    ledger: Ledger, people: People
) -> None:
    key = Ed25519PrivateKey.generate()
    scenario = Scenario(ledger, people)
    scenario.budget()
    projector = Projector(ledger)
    projector.catch_up()

    # Step 1: no checkpoint yet: both files say so, and name none.
    for facts in named_checkpoint(projector):
        assert facts["checkpoint"] == NO_CHECKPOINT
        assert not [k for k in facts if k.startswith("checkpoint.")]

    # Step 2: a checkpoint of the whole log so far, then more events, folded by the trail.
    first = checkpoints.make(projector, key)
    assert first.tree_size == ledger.position()
    scenario.approved()
    projector.catch_up(NAME)
    position = ledger.position()

    # Step 3: then a checkpoint of a single event, kept last, and more events and a
    # checkpoint of them all, which the trail has not folded yet.
    with projector.reading(merkle.NAME) as (connection, tables, _):
        tiny = cp.sign(key, 1, merkle.root(connection, tables, 1))
    with ledger.engine.begin() as connection:
        checkpoints.keep(connection, tiny)
    scenario.submitted()
    beyond = checkpoints.make(projector, key)
    assert first.tree_size < position < beyond.tree_size

    # Step 4: the files reflect the trail's position and name the first checkpoint: the
    # largest not beyond it, not the one kept last, never the one beyond it.
    for facts in named_checkpoint(projector):
        assert int(facts["position"]) == position
        assert int(facts["checkpoint.tree_size"]) == first.tree_size
        assert facts["checkpoint.root_hash"] == first.root_hash
        assert facts["checkpoint.key_id"] == first.key_id == cp.key_id(cp.raw_public(key))
        assert facts["checkpoint.origin"] == first.origin
        assert facts["checkpoint.signature"] == first.signature
        created = dt.datetime.fromisoformat(first.created_at.replace("Z", "+00:00"))
        assert facts["checkpoint.created_at"] == created.strftime("%d/%m/%Y %H:%M:%S UTC")
        assert f"lớn hơn {first.tree_size} chưa có điểm kiểm tra" in facts["note"]

    # Step 5: a checkpoint of exactly the trail's position is named once it is kept, and the
    # leaf hashes of the file's rows give back its root.
    with projector.reading(merkle.NAME) as (connection, tables, _):
        exact = cp.sign(key, position, merkle.root(connection, tables, position))
    with ledger.engine.begin() as connection:
        checkpoints.keep(connection, exact)
    facts, _, rows = read_csv(exported(projector, "csv"))
    assert (int(facts["checkpoint.tree_size"]), facts["checkpoint.root_hash"]) == (
        position,
        exact.root_hash,
    )
    assert "chưa có điểm kiểm tra" not in facts["note"]
    leaves = [bytes.fromhex(row[14]) for row in rows]
    assert len(leaves) == position
    assert tree.root(leaves).hex() == exact.root_hash
    assert exact.signed_by(cp.raw_public(key))


def test_the_facts_say_when_the_file_was_made_and_what_it_is(ledger: Ledger) -> None:
    projector = Projector(ledger)
    projector.catch_up()
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    facts, header, rows = read_csv(exported(projector, "csv"))
    after = dt.datetime.now(dt.UTC)
    made = dt.datetime.strptime(facts["exported_at"], "%d/%m/%Y %H:%M:%S UTC")
    assert before <= made.replace(tzinfo=dt.UTC) <= after
    assert "Nhật ký kiểm toán" in facts["document"]
    assert (facts["position"], facts["rows"], facts["order"]) == (
        "0",
        "0",
        "tăng dần theo vị trí (asc)",
    )
    assert (header, rows) == (HEADERS, [])


def test_an_unknown_format_is_refused(ledger: Ledger) -> None:
    with pytest.raises(ValueError, match="xlsx, csv"):
        evidence.export(Projector(ledger), io.BytesIO(), "pdf")  # type: ignore[arg-type]

"""``ledger export audit-trail``: the audit trail as a file from the command line, brought up
to the head of the log first, filtered like the report, refusing mistakes in one line."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.service import Ledger
from projections import checkpoints
from projections.projector import Projector
from tests.support.cli import one_line_error, run
from tests.support.evidence import HEADERS, read_csv, read_xlsx
from tests.support.people import People
from tests.support.scenario import Scenario


def test_export_audit_trail_writes_the_filtered_trail_naming_its_checkpoint(
    database_url: str, ledger: Ledger, people: People, tmp_path: Path
) -> None:
    # Step 1: some history, a checkpoint of all of it; nothing folded into the trail yet.
    scenario = Scenario(ledger, people)
    scenario.budget()
    scenario.approved()
    made = checkpoints.make(Projector(ledger), Ed25519PrivateKey.generate())
    assert made.tree_size == ledger.position()

    # Step 2: the CSV of the finance department's events: the trail caught up to the head,
    # the rows of STC only, the checkpoint named.
    (folder := tmp_path / "out").mkdir()
    out = folder / "stc.csv"
    result = run(database_url, "export", "audit-trail", "--out", str(out), "--department", "STC")
    assert result.exit_code == 0, result.output
    facts, header, rows = read_csv(out.read_bytes())
    assert header == HEADERS
    department, name = HEADERS.index("Đơn vị"), HEADERS.index("Họ tên người thực hiện")
    assert rows and {row[department] for row in rows} == {"STC"}
    assert {row[name] for row in rows} == {people.finance.name}, "the server's own line: names"
    assert facts["position"] == str(ledger.position())
    assert facts["checkpoint.root_hash"] == made.root_hash
    assert f"{len(rows)} rows" in result.stdout and made.root_hash in result.stdout

    # Step 3: the XLSX, told by --format, between two dates given either way, newest first.
    out_x = folder / "trail.bin"
    result = run(
        database_url,
        "export",
        "audit-trail",
        "--format",
        "xlsx",
        "--out",
        str(out_x),
        "--from",
        "01/02/2015",
        "--to",
        "2015-03-01",
        "--order",
        "desc",
    )
    assert result.exit_code == 0, result.output
    facts_x, _, cells = read_xlsx(out_x.read_bytes())
    assert (facts_x["from"], facts_x["to"]) == ("01/02/2015", "01/03/2015")
    days = [row[2].value.date().isoformat() for row in cells]
    assert days and all("2015-02-01" <= d <= "2015-03-01" for d in days)
    positions = [row[0].value for row in cells]
    assert positions == sorted(positions, reverse=True)

    # Step 4: an existing file is left alone without --force, replaced with it.
    before = out.read_bytes()
    message = one_line_error(run(database_url, "export", "audit-trail", "--out", str(out)))
    assert "exists" in message and "--force" in message
    assert out.read_bytes() == before
    result = run(database_url, "export", "audit-trail", "--out", str(out), "--force")
    assert result.exit_code == 0, result.output
    assert read_csv(out.read_bytes())[0]["department"] == "không lọc"
    assert sorted(p.name for p in folder.iterdir()) == ["stc.csv", "trail.bin"]


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--department", "SKHCNN"], "invalid --department"),
        (["--from", "2015-13-01"], "invalid --from"),
        (["--to", "32/01/2015"], "invalid --to"),
        (["--record-id", "nope"], "--record-id"),
        (["--actor", "x" * 65], "invalid --actor"),
        (["--order", "sideways"], "--order"),
        (["--format", "pdf"], "--format"),
    ],
)
def test_a_bad_option_is_one_line_and_writes_nothing(
    database_url: str, tmp_path: Path, args: list[str], said: str
) -> None:
    (folder := tmp_path / "out").mkdir()
    out = folder / "trail.csv"
    message = one_line_error(run(database_url, "export", "audit-trail", "--out", str(out), *args))
    assert said in message
    assert list(folder.iterdir()) == []


def test_a_name_without_a_known_suffix_needs_format(database_url: str, tmp_path: Path) -> None:
    (folder := tmp_path / "out").mkdir()
    out = folder / "trail.txt"
    message = one_line_error(run(database_url, "export", "audit-trail", "--out", str(out)))
    assert "--format" in message
    missing = folder / "no-such-folder" / "trail.csv"
    message = one_line_error(run(database_url, "export", "audit-trail", "--out", str(missing)))
    assert "no folder" in message
    assert list(folder.iterdir()) == []

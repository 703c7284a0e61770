"""Open data on the demo program: the IATI 2.03 XML validates against the standard's activity
schema (the copy pyIATI ships) and its transactions add up, per type, to the ledger's budget
lines; the Fiscal Data Package's descriptor validates against the Fiscal Data Package
profile (the copy datapackage-py ships), its data against its table schema (frictionless),
and its executed totals equal the journal's. On SQLite and PostgreSQL."""

from __future__ import annotations

import importlib.util
import io
import json
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import frictionless
import jsonschema
from lxml import etree

from api import exports
from api.read_side import ReadSide
from ledger import catalogue
from projections import journal

NS = {"nscl": "urn:nscl-ledger:evidence"}


def shipped(package: str, *path: str) -> Path:
    """A file a package ships (found without importing the package)."""
    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.submodule_search_locations, f"{package} is not installed"
    return Path(spec.submodule_search_locations[0], *path)


def download(side: ReadSide, reader: Any) -> bytes:
    with reader(side, {}, None, None).file as file:
        data: bytes = file.read()
    return data


def test_the_iati_export_validates_and_adds_up_to_the_ledger(demo_side: ReadSide) -> None:
    xml = download(demo_side, exports.iati_xml)
    schema = etree.XMLSchema(
        etree.parse(
            str(shipped("iati", "resources/standard/2-03/schemas/iati-activities-schema.xsd"))
        )
    )
    document = etree.fromstring(xml)
    schema.assertValid(document)
    activities = document.findall("iati-activity")
    assert [a.findtext("iati-identifier") for a in activities] == [
        f"VN-HN-SKHCN-6374-{p}" for p in catalogue.PROJECTS
    ]
    sums: Counter[str] = Counter()
    recovered = 0
    for transaction in document.iter("transaction"):
        value = int(transaction.findtext("value"))
        sums[transaction.find("transaction-type").get("code")] += value
        if "Thu hồi" in (transaction.findtext("description/narrative") or ""):
            recovered += value
    lines = demo_side.ledger.get_budget_lines()
    total = {
        f: sum(line[f] for line in lines)
        for f in ("committed", "carried_in", "disbursed", "recovered")
    }
    assert sums["2"] == total["committed"] - total["carried_in"]  # carry-ins move commitments
    assert sums["3"] + sums["4"] == total["disbursed"] - total["recovered"]
    assert -recovered == total["recovered"] > 0
    assert sums["4"] > 0 and sums["3"] > 0
    approved = sum(int(b.findtext("value")) for b in document.iter("budget"))
    with demo_side.projector.reading("budget_execution") as (connection, tables, _):
        from projections import budget_execution

        assert approved == sum(r["approved"] for r in budget_execution.report(connection, tables))
    evidence = document.find("nscl:evidence", NS)
    assert evidence is not None and len(evidence.get("root-hash", "")) == 64


def test_the_fiscal_data_package_validates_and_says_the_journals_execution(
    demo_side: ReadSide, tmp_path: Path
) -> None:
    with zipfile.ZipFile(io.BytesIO(download(demo_side, exports.fiscal_data_package))) as package:
        assert sorted(package.namelist()) == ["budget.csv", "datapackage.json"]
        package.extractall(tmp_path)
    descriptor = json.loads((tmp_path / "datapackage.json").read_text(encoding="utf-8"))
    profile = json.loads(
        shipped("datapackage", "profiles", "fiscal-data-package.json").read_text(encoding="utf-8")
    )
    jsonschema.validate(descriptor, profile)
    report = frictionless.validate(str(tmp_path / "datapackage.json"))
    assert report.valid, report.flatten(["type", "note"])[:5]
    rows = (
        frictionless.Package(str(tmp_path / "datapackage.json"))
        .get_table_resource("budget")
        .read_rows()
    )
    executed: Counter[tuple[int, str, str]] = Counter()
    for row in rows:
        executed[row["year"], row["project"], row["source"]] += row["executed"]
    with demo_side.projector.reading("journal") as (connection, tables, _):
        balances = journal.balances(connection, tables)
    expected: Counter[tuple[int, str, str]] = Counter()
    for (year, project, source, _channel), figures in balances.items():
        if source == catalogue.CITY_BUDGET:
            expected[year, project, source] += figures["disbursed"] - figures["recovered"]
        else:
            expected[year, project, source] += figures["spent"]
    assert +executed == +expected
    assert {r["department"] for r in rows} > {"SKHCN"}  # activities are their departments'

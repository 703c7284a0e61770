"""The program's budget as a Fiscal Data Package (open data):
``GET /api/exports/fiscal-data-package.zip``, a ZIP of ``datapackage.json`` and
``budget.csv``.

One row per budget year × project × source × channel × department, with four measures in
đồng (VND), each a phase of the Fiscal Data Package model:

- ``proposed``: the estimate's latest draft (dự toán đề xuất);
- ``approved``: the estimate the city approved (dự toán được phê duyệt);
- ``adjusted``: the budget assigned after every increase and reduction (dự toán được giao
  sau điều chỉnh) — the phase names the amended budget, not the change; money carried in
  from the year before is not budget of the year and is left out;
- ``executed``: what was spent: city-budget payments to enterprises and activities' own
  spending, net of reversals, less recoveries (the journal's disbursements − recoveries);
  for the counterpart sources (enterprise, other), what was recorded as spent at acceptance
  (the journal's counterpart_spent), by the approval's budget year.

Departments: the estimate and the support to enterprises are Sở KH&CN's (the lead body of
every project); an activity's spending is the department's that runs it. Counterpart money
has no estimate and no channel of the city budget (``channel`` is ``counterpart``).

Read from the ``program`` read model at one position, named (with its Merkle root) in the
descriptor's ``sources``.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections import defaultdict
from typing import IO, Any

from sqlalchemy import Connection, Table, func, select

from ledger import catalogue

MEASURES = ("proposed", "approved", "adjusted", "executed")
DIMENSIONS = ("year", "project", "source", "channel", "department")
COLUMNS = (
    "year",
    "project",
    "project_name",
    "source",
    "source_name",
    "channel",
    "channel_name",
    "department",
    "department_name",
    *MEASURES,
)
MEDIA_TYPE = "application/zip"
LEAD = "SKHCN"
#: the channel of counterpart money, which goes through no channel of the city budget
COUNTERPART = "counterpart"

Key = tuple[int, str, str, str, str]


def rows(connection: Connection, tables: dict[str, Table]) -> list[dict[str, Any]]:
    """The package's rows, by year, project, source, channel and department."""
    found: dict[Key, dict[str, int]] = defaultdict(lambda: dict.fromkeys(MEASURES, 0))
    execution = tables["program_budget_execution"]
    for row in connection.execute(select(execution)).mappings():
        if row["source"] != catalogue.CITY_BUDGET:
            continue
        key = (row["budget_year"], row["project"], row["source"], row["channel"], LEAD)
        found[key]["proposed"] += row["proposed"]
        found[key]["approved"] += row["approved"]
        found[key]["adjusted"] += row["assigned"]
    t, activities = tables["program_transactions"], tables["program_activity_ids"]
    spent = (
        select(
            t.c.budget_year,
            t.c.project,
            t.c.channel,
            t.c.kind,
            activities.c.department,
            func.sum(t.c.amount),
        )
        .select_from(t.outerjoin(activities, activities.c.activity_id == t.c.record_id))
        .where(t.c.kind != "commitment")
        .group_by(t.c.budget_year, t.c.project, t.c.channel, t.c.kind, activities.c.department)
    )
    for year, project, channel, kind, department, amount in connection.execute(spent):
        owner = department if kind == "expenditure" and department else LEAD
        key = (year, project, catalogue.CITY_BUDGET, channel, owner)
        found[key]["executed"] += -int(amount) if kind == "recovery" else int(amount)
    apps = tables["program_applications"]
    counterpart = (
        select(
            apps.c.budget_year,
            apps.c.project,
            func.sum(apps.c.spent_enterprise),
            func.sum(apps.c.spent_other),
        )
        .where(apps.c.budget_year.is_not(None))
        .group_by(apps.c.budget_year, apps.c.project)
    )
    for year, project, enterprise, other in connection.execute(counterpart):
        for source, amount in (("enterprise", enterprise), ("other", other)):
            if amount:
                found[(year, project, source, COUNTERPART, LEAD)]["executed"] += int(amount)
    return [
        {
            "year": year,
            "project": project,
            "project_name": catalogue.PROJECTS[project].name_vi
            if project in catalogue.PROJECTS
            else project,
            "source": source,
            "source_name": catalogue.SOURCES[source].name_vi,
            "channel": channel,
            "channel_name": catalogue.CHANNELS[channel].name_vi
            if channel in catalogue.CHANNELS
            else "Vốn đối ứng, không qua ngân sách thành phố",
            "department": department,
            "department_name": catalogue.DEPARTMENTS[department].name_vi
            if department in catalogue.DEPARTMENTS
            else department,
            **measures,
        }
        for (year, project, source, channel, department), measures in sorted(found.items())
        if any(measures.values())
    ]


def descriptor(position: int, root_hash: str | None) -> dict[str, Any]:
    """``datapackage.json``: a Tabular Data Package with the Fiscal Data Package model."""
    field_types = {name: "integer" for name in ("year", *MEASURES)}
    labels = {
        "year": "Năm ngân sách",
        "project": "Dự án",
        "project_name": "Tên dự án",
        "source": "Nguồn vốn",
        "source_name": "Tên nguồn vốn",
        "channel": "Kênh ngân sách thành phố",
        "channel_name": "Tên kênh",
        "department": "Đơn vị",
        "department_name": "Tên đơn vị",
        "proposed": "Dự toán đề xuất (đồng)",
        "approved": "Dự toán được phê duyệt (đồng)",
        "adjusted": "Dự toán được giao sau điều chỉnh (đồng)",
        "executed": "Thực hiện (đồng)",
    }
    return {
        # the Fiscal Data Package profile is a Tabular Data Package with a model: its JSON
        # schema requires this profile name beside the model
        "profile": "tabular-data-package",
        "name": "nscl-hanoi-6374-budget",
        "title": f"Ngân sách {catalogue.PROGRAM.name_vi}",
        "description": f"Dự toán và thực hiện theo năm, dự án, nguồn, kênh và đơn vị "
        f"(Quyết định {catalogue.PROGRAM.decision_no}).",
        "countryCode": "VN",
        "granularity": "aggregated",
        "fiscalPeriod": {"start": "2011-01-01", "end": "2020-12-31"},
        "sources": [
            {
                "title": f"Sổ cái NSCL đến vị trí {position}; mã băm gốc Merkle "
                f"{root_hash or 'chưa có'}",
                "path": f"ledger-position-{position}",
            }
        ],
        "resources": [
            {
                "name": "budget",
                "path": "budget.csv",
                "profile": "tabular-data-resource",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "schema": {
                    "fields": [
                        {
                            "name": name,
                            "title": labels[name],
                            "type": field_types.get(name, "string"),
                            **({"constraints": {"required": True}} if name in MEASURES else {}),
                        }
                        for name in COLUMNS
                    ],
                    "primaryKey": list(DIMENSIONS),
                },
            }
        ],
        "model": {
            "measures": {
                name: {"source": name, "currency": "VND", "direction": "expenditure", "phase": name}
                for name in MEASURES
            },
            "dimensions": {
                "year": {
                    "attributes": {"year": {"source": "year"}},
                    "primaryKey": "year",
                    "dimensionType": "datetime",
                },
                "project": _labelled("project", "activity"),
                "source": _labelled("source", "classification", "economic"),
                "channel": _labelled("channel", "classification", "functional"),
                "department": _labelled("department", "classification", "administrative"),
            },
        },
    }


def _labelled(name: str, kind: str, classification: str | None = None) -> dict[str, Any]:
    """A dimension of a code and its name (``{name}_name``, the label for the code)."""
    dimension: dict[str, Any] = {
        "attributes": {
            name: {"source": name},
            f"{name}_name": {"source": f"{name}_name", "labelfor": name},
        },
        "primaryKey": name,
        "dimensionType": kind,
    }
    if classification is not None:
        dimension["classificationType"] = classification
    return dimension


def write(
    connection: Connection,
    tables: dict[str, Table],
    out: IO[bytes],
    position: int,
    root_hash: str | None,
) -> None:
    """Write the package (a ZIP) of the ``program`` read model (``tables``) to ``out``."""
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows(connection, tables))
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr(
            "datapackage.json",
            json.dumps(descriptor(position, root_hash), ensure_ascii=False, indent=1),
        )
        package.writestr("budget.csv", text.getvalue())

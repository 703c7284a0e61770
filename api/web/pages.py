"""The pages' routes: each reads read models (or a replay of them) and renders a template.

Who may see what: the overview (``/``) and the API reference (``/docs``, the served OpenAPI
document as a page) are public, the overview with the figures README lists as public;
every other page needs a signed-in user; the inspection page (``/kiem-tra``) needs an
inspector or Sở Tài chính. A page a role may not see answers a 403 page in Vietnamese; one
that needs a user sends the browser to the sign-in page. Pages never load an aggregate.
"""

from __future__ import annotations

import functools
import tempfile
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID

from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from api import openapi, reference, reports, workbooks
from api.read_side import ReadSide
from api.routes import ENDPOINTS
from api.web import charts, session
from api.web.templates import page
from ledger import catalogue
from ledger.access import Actor, may_read_personnel
from ledger.errors import LedgerError
from ledger.messages import ValidationMessage, said
from ledger.support_application import STATUSES
from projections import (
    audit_trail,
    budget_execution,
    checkpoints,
    department_activity,
    estimates,
    evidence,
    project_spend,
    registers,
    target_progress,
)
from projections.merkle import LEAVES
from projections.merkle import NAME as TREE

AUDITORS = frozenset({"inspector", "finance"})
STATIC = Path(__file__).parent / "static"
YEARS = list(range(2011, 2021))
PAGE_SIZE = 25


def _side(request: Request) -> ReadSide:
    side: ReadSide = request.app.state.read_side
    return side


def _context(request: Request, who: Actor | None, **more: Any) -> dict[str, Any]:
    return {
        "who": who,
        "csrf": session.csrf_token(request),
        "path": request.url.path,
        "auditor": who is not None and who.role in AUDITORS,
        **more,
    }


def _refused(request: Request, who: Actor | None) -> Response:
    return page("refused.html", 403, **_context(request, who, title="Không có quyền xem trang này"))


def signed_in(
    roles: frozenset[str] | None = None,
) -> Callable[[Callable[[Request, Actor], Response]], Callable[[Request], Any]]:
    """A page for signed-in users (of ``roles``, when given), rendered in a worker thread."""

    def wrap(render: Callable[[Request, Actor], Response]) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            def run() -> Response:
                who = session.actor(request, _side(request).ledger)
                if who is None:
                    return RedirectResponse(f"/dang-nhap?tiep={request.url.path}", 303)
                if roles is not None and who.role not in roles:
                    return _refused(request, who)
                return render(request, who)

            return await run_in_threadpool(run)

        return endpoint

    return wrap


# -- the overview (public) ------------------------------------------------------------------------


#: the read models the overview's figures come from
OVERVIEW_MODELS = (project_spend.NAME, target_progress.NAME)


def overview_figures(side: ReadSide, view: reports.View | None = None) -> dict[str, Any]:
    """The overview's figures, live or as a past view (replayed)."""

    def read_spend(connection: Any, tables: Any) -> dict[str, Any]:
        return {
            "rows": project_spend.report(connection, tables),
            "counterpart": project_spend.counterpart(connection, tables),
        }

    def read_targets(connection: Any, tables: Any) -> dict[str, Any]:
        return {"rows": target_progress.report(connection, tables)}

    if view is None:
        with side.projector.reading(project_spend.NAME) as (connection, tables, position):
            spend = read_spend(connection, tables)
        with side.projector.reading(target_progress.NAME) as (connection, tables, _):
            targets = read_targets(connection, tables)
    else:
        replays, ledger = side.replays, side.ledger
        with replays.reading(ledger, project_spend.NAME, view.position, view.as_of) as (
            connection,
            tables,
            position,
        ):
            spend = read_spend(connection, tables)
        with replays.reading(ledger, target_progress.NAME, view.position, view.as_of) as (
            connection,
            tables,
            _,
        ):
            targets = read_targets(connection, tables)
    by_year: dict[int, dict[str, dict[str, int]]] = defaultdict(
        lambda: {p: {"assigned": 0, "committed": 0, "disbursed": 0} for p in catalogue.PROJECTS}
    )
    for row in spend["rows"]:
        figures = by_year[row["budget_year"]][row["project"]]
        for name in ("assigned", "committed", "disbursed"):
            figures[name] += row[name]
    years = sorted(by_year)
    sources: dict[int, dict[str, int]] = {y: {s: 0 for s in catalogue.SOURCES} for y in years}
    for row in spend["rows"]:
        sources[row["budget_year"]]["city_budget"] += row["disbursed"] - row["recovered"]
    for row in spend["counterpart"]:
        sources.setdefault(row["budget_year"], {s: 0 for s in catalogue.SOURCES})
        sources[row["budget_year"]][row["source"]] += row["spent"]
    years = sorted(set(years) | set(sources))
    totals = {
        name: sum(r[name] for r in spend["rows"])
        for name in ("assigned", "committed", "disbursed", "recovered")
    }
    labels = [str(y) for y in years]
    by_project_chart = charts.stacked_bars(
        "Kinh phí ngân sách thành phố đã giải ngân theo năm và dự án",
        labels,
        {
            code: [by_year[y][code]["disbursed"] if y in by_year else 0 for y in years]
            for code in catalogue.PROJECTS
        },
    )
    by_source_chart = charts.stacked_bars(
        "Kinh phí đã chi theo năm và nguồn vốn",
        labels,
        {catalogue.SOURCES[s].name_vi: [sources[y][s] for y in years] for s in catalogue.SOURCES},
    )
    for target in targets["rows"]:
        target["bar"] = charts.progress(target["percent"], f"{target['percent']} %")
    return {
        "position": position,
        "years": years,
        "by_year": by_year,
        "sources": sources,
        "totals": totals,
        "targets": targets["rows"],
        "by_project_chart": by_project_chart,
        "by_source_chart": by_source_chart,
    }


def _integrity(side: ReadSide) -> dict[str, Any]:
    with side.projector.engine.connect() as connection:
        newest = checkpoints.latest(connection)
    return {
        "tree_size": side.projector.position(TREE),
        "head": side.ledger.position(),
        "checkpoint": newest,
    }


async def overview(request: Request) -> Response:
    def run() -> Response:
        side = _side(request)
        who = session.actor(request, side.ledger)
        return page(
            "overview.html",
            **_context(
                request,
                who,
                title="Tổng quan",
                figures=side.kept("overview", OVERVIEW_MODELS, lambda: overview_figures(side)),
                integrity=_integrity(side),
                view=None,
            ),
        )

    return await run_in_threadpool(run)


# -- the API reference (public)


@functools.cache
def served_reference() -> reference.Reference:
    """The reference of the OpenAPI document ``/openapi.json`` serves, read once: it reads
    the same whatever the day (``api/reference.py``)."""
    return reference.read(openapi.document(ENDPOINTS))


async def api_reference(request: Request) -> Response:
    """Every endpoint of the OpenAPI document ``/openapi.json`` serves, as a page."""

    def run() -> Response:
        who = session.actor(request, _side(request).ledger)
        return page(
            "api_reference.html",
            **_context(request, who, title="Tài liệu API", ref=served_reference()),
        )

    return await run_in_threadpool(run)


# -- sign-in


async def sign_in_form(request: Request) -> Response:
    def run() -> Response:
        who = session.actor(request, _side(request).ledger)
        after = _safe_next(request.query_params.get("tiep"))
        return page(
            "signin.html", **_context(request, who, title="Đăng nhập", after=after, problem=None)
        )

    return await run_in_threadpool(run)


def _safe_next(value: str | None) -> str:
    """Where to go after signing in: a path of this site only."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


async def sign_in(request: Request) -> Response:
    form = await request.form()

    def run() -> Response:
        side = _side(request)
        after = _safe_next(str(form.get("tiep") or "/"))
        if not session.csrf_ok(request, form):
            return page("csrf.html", 403, **_context(request, None, title="Biểu mẫu hết hạn"))
        token = str(form.get("token") or "").strip()
        try:
            who = side.ledger.authenticate(token)
        except LedgerError:
            return page(
                "signin.html",
                401,
                **_context(
                    request,
                    None,
                    title="Đăng nhập",
                    after=after,
                    problem="Mã truy cập không đúng hoặc đã bị thu hồi.",
                ),
            )
        session.sign_in(request, who.user_id)
        return RedirectResponse(after, 303)

    return await run_in_threadpool(run)


async def sign_out(request: Request) -> Response:
    form = await request.form()
    if not session.csrf_ok(request, form):
        return page("csrf.html", 403, **_context(request, None, title="Biểu mẫu hết hạn"))
    session.sign_out(request)
    return RedirectResponse("/", 303)


# -- projects, departments ----------------------------------------------------------------------


@signed_in()
def project(request: Request, who: Actor) -> Response:
    code = request.path_params["code"]
    if code not in catalogue.PROJECTS:
        return page("missing.html", 404, **_context(request, who, title="Không tìm thấy"))
    side = _side(request)
    with side.projector.reading(project_spend.NAME) as (connection, tables, _):
        lines = project_spend.report(connection, tables, project=code)
    with side.projector.reading(registers.NAME) as (connection, tables, _):
        apps, next_page = registers.applications(
            connection, tables, project=code, page=1, page_size=PAGE_SIZE
        )
        types = registers.support_types(connection, tables, code)
    return page(
        "project.html",
        **_context(
            request,
            who,
            title=catalogue.PROJECTS[code].name_vi,
            code=code,
            lines=lines,
            apps=apps,
            more=next_page is not None,
            types=types,
        ),
    )


@signed_in()
def departments(request: Request, who: Actor) -> Response:
    with _side(request).projector.reading(department_activity.NAME) as (connection, tables, _):
        rows = department_activity.report(connection, tables)
    return page("departments.html", **_context(request, who, title="Sở, ngành", rows=rows))


# -- applications, enterprises


def _choice(value: str | None, allowed: Any) -> str | None:
    return value if value in allowed else None


@signed_in()
def applications(request: Request, who: Actor) -> Response:
    q = request.query_params
    year = q.get("nam")
    filters: dict[str, Any] = {
        "status": _choice(q.get("trang_thai"), STATUSES),
        "project": _choice(q.get("du_an"), catalogue.PROJECTS),
        "budget_year": int(year) if year and year.isdigit() and len(year) == 4 else None,
        "district": _choice(q.get("quan"), catalogue.DISTRICTS),
        "q": (q.get("tim") or "").strip()[:200] or None,
    }
    number = q.get("trang", "1")
    page_no = int(number) if number.isdigit() and 0 < int(number) < 100_000 else 1
    with _side(request).projector.reading(registers.NAME) as (connection, tables, _):
        rows, next_page = registers.applications(
            connection, tables, **filters, page=page_no, page_size=PAGE_SIZE
        )
    return page(
        "applications.html",
        **_context(
            request,
            who,
            title="Hồ sơ đề nghị hỗ trợ",
            rows=rows,
            filters=filters,
            page_no=page_no,
            next_page=next_page,
            statuses=STATUSES,
            years=YEARS,
            districts=catalogue.DISTRICTS,
        ),
    )


def _uuid(value: str) -> UUID | None:
    try:
        return UUID(value)
    except ValueError:
        return None


def _application_record(side: ReadSide, found_id: UUID, personnel: bool) -> dict[str, Any] | None:
    """An application's page figures: its register row, its enterprise's name, its events
    with their leaf hashes, the size of the Merkle tree (None if there is no such
    application); read in one transaction."""
    with side.projector.reading_many(APPLICATION_MODELS) as (connection, tables, positions):
        kept = tables[registers.NAME]
        found = registers.application(connection, kept, found_id)
        if found is None:
            return None
        firm = registers.enterprise(connection, kept, found["enterprise_id"])
        events, _next = audit_trail.report(
            connection,
            tables[audit_trail.NAME],
            record_id=found_id,
            page_size=500,
            personnel=personnel,
        )
        leaves = evidence.leaves_in(
            tables[TREE][LEAVES.name], connection, [e["position"] for e in events]
        )
    return {
        "app": found,
        "enterprise_name": firm["name"] if firm else found["enterprise_id"],
        "events": events,
        "leaves": leaves,
        "tree_size": positions[TREE],
    }


#: the read models an application's page comes from
APPLICATION_MODELS = (registers.NAME, audit_trail.NAME, TREE)


@signed_in()
def application(request: Request, who: Actor) -> Response:
    side = _side(request)
    found_id = _uuid(request.path_params["id"])
    personnel = may_read_personnel(who)  # the actors' names are personnel data
    record = (
        side.kept(
            ("application", found_id, personnel),
            APPLICATION_MODELS,
            lambda: _application_record(side, found_id, personnel),
        )
        if found_id
        else None
    )
    if record is None:
        return page("missing.html", 404, **_context(request, who, title="Không tìm thấy hồ sơ"))
    return page(
        "application.html",
        **_context(request, who, title=f"Hồ sơ {record['app']['dossier_no']}", **record),
    )


@signed_in()
def enterprises(request: Request, who: Actor) -> Response:
    with _side(request).projector.reading(registers.NAME) as (connection, tables, _):
        rows = registers.enterprises(connection, tables)
    return page("enterprises.html", **_context(request, who, title="Doanh nghiệp", rows=rows))


@signed_in()
def enterprise(request: Request, who: Actor) -> Response:
    found_id = _uuid(request.path_params["id"])
    with _side(request).projector.reading(registers.NAME) as (connection, tables, _):
        found = registers.enterprise(connection, tables, found_id) if found_id else None
        apps, _next = (
            registers.applications(connection, tables, enterprise_id=found_id, page_size=500)
            if found
            else ([], None)
        )
    if found is None:
        return page("missing.html", 404, **_context(request, who, title="Không tìm thấy"))
    return page(
        "enterprise.html",
        **_context(
            request,
            who,
            title=found["name"],
            enterprise=found,
            apps=apps,
            paid=sum(a["disbursed"] - a["recovered"] for a in apps),
        ),
    )


# -- the estimate, the program report


@signed_in()
def estimate(request: Request, who: Actor) -> Response:
    year = int(request.path_params["year"])
    if year not in range(2010, 2031):
        return page("missing.html", 404, **_context(request, who, title="Không tìm thấy"))
    projector = _side(request).projector
    with projector.reading(budget_execution.NAME) as (connection, tables, _):
        report = budget_execution.estimate_report(connection, tables, year)
        execution = budget_execution.execution_report(connection, tables, year)
    with projector.reading(estimates.NAME) as (connection, tables, _):
        record = estimates.estimate(connection, tables, year)
    return page(
        "estimate.html",
        **_context(
            request,
            who,
            title=f"Dự toán năm {year}",
            year=year,
            report=report,
            execution=execution,
            record=record,
            years=[*YEARS, 2021],
        ),
    )


def _program_query(request: Request) -> reports.ProgramQuery:
    q = request.query_params
    first, last = q.get("tu", "2011"), q.get("den", "2020")
    try:
        return reports.ProgramQuery.model_validate({"from": first, "to": last})
    except ValidationError:
        return reports.ProgramQuery.model_validate({"from": 2011, "to": 2020})


@signed_in()
def program_report(request: Request, who: Actor) -> Response:
    q = _program_query(request)
    problem = None
    answer = None
    try:
        answer = reports.program_report(_side(request), {}, q, who)
    except LedgerError as error:
        problem = str(error)
    return page(
        "report.html",
        **_context(
            request,
            who,
            title="Báo cáo Chương trình",
            q=q,
            report=answer,
            problem=problem,
            years=YEARS,
        ),
    )


@signed_in()
def program_workbook(request: Request, who: Actor) -> Response:
    q = _program_query(request)
    try:
        answer = reports.program_report(_side(request), {}, q, who)
    except LedgerError:
        return page("missing.html", 404, **_context(request, who, title="Không tìm thấy"))
    download = workbooks.download("program", answer)
    return _stream(download.file, download.filename, download.media_type)


def _stream(file: Any, filename: str, media_type: str) -> Response:
    def chunks() -> Any:
        with file:
            while chunk := file.read(64 * 1024):
                yield chunk

    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    return StreamingResponse(chunks(), media_type=media_type, headers=headers)


# -- inspection (inspector, finance)


@signed_in(AUDITORS)
def inspection(request: Request, who: Actor) -> Response:
    side = _side(request)
    q = request.query_params
    view: reports.View | None = None
    figures: dict[str, Any] | None = None
    problem: str | None = None
    record = _uuid(q.get("ho_so", "")) if q.get("ho_so") else None
    with side.projector.reading(audit_trail.NAME) as (connection, tables, _):
        trail, next_page = audit_trail.report(
            connection,
            tables,
            record_id=record,
            department=_choice(q.get("don_vi"), catalogue.DEPARTMENTS),
            order="desc",
            page_size=PAGE_SIZE,
            personnel=may_read_personnel(who),
        )
    if q.get("as_known_at") or q.get("as_of"):
        try:
            asked = reports.ViewQuery.model_validate(
                {k: q[k] for k in ("as_known_at", "as_of") if q.get(k)}
            )
            view = reports.resolve_view(side.ledger, asked.as_known_at, asked.as_of, side.replays)
            figures = overview_figures(side, view)
        except (ValidationError, LedgerError) as error:
            problem = _problem(error)
    return page(
        "inspection.html",
        **_context(
            request,
            who,
            title="Kiểm tra",
            integrity=_integrity(side),
            trail=trail,
            more=next_page is not None,
            view=view,
            figures=figures,
            problem=problem,
            verified=None,
            asked=dict(q),
        ),
    )


def _problem(error: Exception) -> str:
    """What is wrong with what was asked, in Vietnamese."""
    if isinstance(error, ValidationError):
        first = error.errors(include_url=False)[0]
        return f"{'.'.join(str(p) for p in first['loc'])}: {ValidationMessage(first).render('vi')}"
    return said(error).render("vi")


async def verify(request: Request) -> Response:
    form = await request.form()

    def run() -> Response:
        side = _side(request)
        who = session.actor(request, side.ledger)
        if who is None:
            return RedirectResponse("/dang-nhap?tiep=/kiem-tra", 303)
        if who.role not in AUDITORS:
            return _refused(request, who)
        if not session.csrf_ok(request, form):
            return page("csrf.html", 403, **_context(request, who, title="Biểu mẫu hết hạn"))
        from api import audit

        result = audit.verification(side, {}, None, who)
        return page(
            "verified.html", **_context(request, who, title="Kết quả xác minh", result=result)
        )

    return await run_in_threadpool(run)


@signed_in(AUDITORS)
def trail_download(request: Request, who: Actor) -> Response:
    fmt: evidence.Format = "csv" if request.path_params["fmt"] == "csv" else "xlsx"
    file = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
    done = evidence.export(
        _side(request).projector,
        file,
        fmt,
        evidence.AuditFilters(),
        personnel=may_read_personnel(who),
    )
    file.seek(0)
    return _stream(file, done.filename, evidence.MEDIA_TYPES[fmt])


@signed_in()
def proof(request: Request, who: Actor) -> Response:
    """The inclusion proof (RFC 9162) of the event at ``vi_tri`` in the tree of the whole log."""
    from api import audit

    value = request.query_params.get("vi_tri", "")
    problem, found = None, None
    try:
        query = audit.InclusionQuery(position=int(value))
        found = audit.inclusion_proof(_side(request), {}, query, who)
    except (ValueError, ValidationError, LedgerError) as error:
        problem = f"Vị trí không hợp lệ: {value[:32]!r} ({_problem(error)})."
    return page(
        "proof.html",
        200 if found else 404,
        **_context(request, who, title="Chứng minh thuộc cây Merkle", proof=found, problem=problem),
    )


ROUTES = [
    Route("/", overview, methods=["GET"]),
    Route("/docs", api_reference, methods=["GET"]),
    Route("/dang-nhap", sign_in_form, methods=["GET"]),
    Route("/dang-nhap", sign_in, methods=["POST"]),
    Route("/dang-xuat", sign_out, methods=["POST"]),
    Route("/du-an/{code:str}", project, methods=["GET"]),
    Route("/so-nganh", departments, methods=["GET"]),
    Route("/ho-so", applications, methods=["GET"]),
    Route("/ho-so/{id:str}", application, methods=["GET"]),
    Route("/doanh-nghiep", enterprises, methods=["GET"]),
    Route("/doanh-nghiep/{id:str}", enterprise, methods=["GET"]),
    Route("/du-toan/{year:int}", estimate, methods=["GET"]),
    Route("/bao-cao", program_report, methods=["GET"]),
    Route("/bao-cao.xlsx", program_workbook, methods=["GET"]),
    Route("/kiem-tra", inspection, methods=["GET"]),
    Route("/kiem-tra/xac-minh", verify, methods=["POST"]),
    Route("/kiem-tra/chung-minh", proof, methods=["GET"]),
    Route("/kiem-tra/nhat-ky.{fmt:str}", trail_download, methods=["GET"]),
    Mount(
        "/static",
        StaticFiles(directory=str(__import__("pathlib").Path(__file__).parent / "static")),
        name="static",
    ),
]

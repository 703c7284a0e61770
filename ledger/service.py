"""The application service: the one door through which every change enters the ledger.

Each public command method takes a frozen command and the acting user, checks who may run
it, loads the aggregates, lets them check the invariants (raising a ``LedgerError`` before
any event exists) and saves every changed aggregate in one database transaction. An
optimistic-concurrency conflict (another writer saved one of the same aggregates first)
rolls the whole transaction back and runs the command again from fresh state, a bounded
number of times, then answers ``concurrency_conflict``.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from copy import deepcopy
from dataclasses import dataclass, field
from typing import Any, TypeGuard, TypeVar, cast
from uuid import UUID

import sqlalchemy.exc
from eventsourcing.application import (
    AggregateNotFoundError,
    Application,
    Repository,
    project_aggregate,
)
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import (
    ApplicationRecorder,
    IntegrityError,
    JSONTranscoder,
    OperationalError,
    Recording,
    StoredEvent,
)
from eventsourcing.utils import get_topic
from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from ledger import commands
from ledger.access import Actor, require
from ledger.base import LedgerAggregate, Meta
from ledger.budget_line import BUDGET_LINES, BudgetLine, budget_line_id
from ledger.commands import Command, today
from ledger.enterprise import Enterprise
from ledger.errors import (
    ConcurrencyConflict,
    Duplicate,
    InsufficientBudget,
    NotFound,
    StorageFailed,
    StorageUnavailable,
    Unauthorized,
)
from ledger.merkle import event_leaf_hash
from ledger.natural_key import NaturalKey, natural_key_id
from ledger.persistence import (
    APPLICATION_NAME,
    DateAsISO,
    backend_name,
    configure_engine,
    database_url,
    event_store_env,
    is_connection_lost,
    take_failed_commit,
)
from ledger.program_activity import ProgramActivity
from ledger.recorder import LedgerRecorder
from ledger.repository import CommittedStateRepository, note_saved, unit_of_work_scope
from ledger.support_application import SupportApplication
from ledger.user import (
    ADMIN,
    ADMINISTRATORS_ID,
    Administrators,
    User,
    new_token,
    user_id_for_token,
)

T = TypeVar("T")
A = TypeVar("A", bound=Aggregate)

_in_unit_of_work: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "ledger_unit_of_work", default=False
)
_attempt: contextvars.ContextVar[int] = contextvars.ContextVar("ledger_attempt", default=0)


CITY_BUDGET = "city_budget"


@dataclass(frozen=True, slots=True)
class Written:
    """What a successful command answers: the record's id and the last global position."""

    id: UUID
    position: int
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class GrantedAccess:
    user_id: UUID
    token: str
    position: int


class Ledger(Application[UUID]):
    """The NSCL ledger: one append-only event store, every command through here."""

    name = APPLICATION_NAME
    MAX_ATTEMPTS = 40
    #: aggregates kept in memory (see ledger.repository); LEDGER_AGGREGATE_CACHE_SIZE overrides
    CACHE_SIZE = 5000

    def __init__(self, url: str | None = None, env: dict[str, str] | None = None) -> None:
        self.url = database_url(url)
        #: units of work rerun after losing an optimistic-concurrency race (for operators)
        self.retries = 0
        super().__init__(env={**event_store_env(self.url), **(env or {})})
        configure_engine(self.engine)

    def construct_recorder(self) -> ApplicationRecorder:
        """The library's SQLAlchemy recorder, gap-free on PostgreSQL (see ledger.recorder)."""
        library = cast(Any, self.factory.application_recorder())
        return LedgerRecorder(
            datastore=library.datastore,
            events_table_name=library.events_table_name,
            schema_name=library.schema_name,
        )

    def construct_repository(self) -> Repository[UUID]:
        return CommittedStateRepository(
            event_store=self.events,
            cache_size=int(self.env.get("LEDGER_AGGREGATE_CACHE_SIZE") or self.CACHE_SIZE),
        )

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]:
        recordings = super().save(*objs, **kwargs)
        note_saved(objs)  # after the save has taken their pending events
        return recordings

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    # -- infrastructure ------------------------------------------------------------------

    @property
    def engine(self) -> Any:
        return self.recorder.datastore.engine  # type: ignore[attr-defined]

    @property
    def database(self) -> str:
        return backend_name(self.url)

    @property
    def events_table(self) -> Table:
        return cast(Table, self.recorder.events_record_cls.__table__)  # type: ignore[attr-defined]

    @contextmanager
    def session(self) -> Iterator[Session]:
        """The session of the current unit of work (or a new write transaction).

        A COMMIT the database refuses leaves nothing behind (``configure_engine`` drops that
        connection) and is never reported as a success: a locked database is raised as the
        library's ``OperationalError`` (the unit of work runs again), anything else (a full
        disk, say) as :class:`StorageFailed`."""
        take_failed_commit()
        try:
            with self.recorder.datastore.transaction(commit=True) as session:  # type: ignore[attr-defined]
                yield session
        except (OperationalError, sqlalchemy.exc.OperationalError) as error:
            failed = take_failed_commit()
            if failed is not None and not _is_transient(failed):
                raise _not_stored(failed) from error
            raise
        failed = take_failed_commit()
        if failed is not None:  # were a library to swallow it
            if _is_transient(failed):
                raise OperationalError(f"the commit failed: {failed}")
            raise _not_stored(failed)

    def execute(self, work: Callable[[], T]) -> T:
        """Run ``work`` in one transaction; rerun it on a lost optimistic-concurrency race.

        A lost database connection reruns it once, on a fresh connection, if its transaction
        never reached COMMIT; if the connection was lost during COMMIT, a fresh connection
        looks whether the events were stored (then ``work``'s answer is the answer), and
        reruns it if they were not. Past that, :class:`StorageUnavailable` (503): nothing
        was written.

        Nested calls join the outer unit of work (and its retries).
        """
        if _in_unit_of_work.get():
            return work()
        reconnected = False
        for attempt in range(self.MAX_ATTEMPTS):
            token = _in_unit_of_work.set(True)
            attempt_token = _attempt.set(attempt)
            done: Any = _NOT_DONE
            try:
                with unit_of_work_scope() as saved:
                    try:
                        with self.session():
                            done = work()
                        return cast(T, done)
                    except Exception as error:
                        if not is_connection_lost(error):
                            raise
                        if done is not _NOT_DONE and self._stored(saved, error):
                            return cast(T, done)  # COMMIT went through; its answer was lost
                        if reconnected:
                            raise StorageUnavailable() from error
                        reconnected = True
                        continue
            except (IntegrityError, sqlalchemy.exc.IntegrityError):
                pass
            except (OperationalError, sqlalchemy.exc.OperationalError) as error:
                if not _is_transient(error):
                    raise
            finally:
                _in_unit_of_work.reset(token)
                _attempt.reset(attempt_token)
            self.retries += 1
            time.sleep(random.uniform(0, 0.002 * (attempt + 1)))
        raise ConcurrencyConflict(
            "Other writers kept changing the same records; nothing was written. Please try again."
        )

    def read(self, query: Callable[[], T]) -> T:
        """Run ``query`` (which writes nothing); if the database connection was lost, once
        more on a fresh connection; past that, :class:`StorageUnavailable` (503)."""
        try:
            return query()
        except Exception as error:
            if not is_connection_lost(error):
                raise
        try:
            return query()
        except Exception as error:
            if not is_connection_lost(error):
                raise
            raise StorageUnavailable() from error

    def _stored(self, saved: dict[UUID, Any], lost: BaseException) -> bool:
        """Whether the aggregates a unit of work saved were stored as saved (its COMMIT went
        through although the connection was lost before its answer came back). Asked on a
        fresh connection; if the database cannot be asked either, nothing can be said:
        :class:`StorageUnavailable` says so."""
        if not saved:
            return False
        aggregate = next(iter(saved.values()))
        t = self.events_table
        query = select(t.c.id).where(
            t.c.originator_id == aggregate.id, t.c.originator_version == aggregate.version
        )
        try:
            with self.engine.connect() as connection:
                return connection.execute(query).first() is not None
        except Exception as error:
            if not is_connection_lost(error):
                raise
            raise StorageUnavailable(
                "The connection to the database was lost while the change was being committed, "
                "and the database cannot be reached to tell whether it was stored: look before "
                "sending it again (an Idempotency-Key makes sending it again safe).",
            ) from lost

    def _save(self, *aggregates: Aggregate | None) -> int:
        recordings = self.save(*aggregates)
        if not recordings:
            return self.position()
        return max(r.notification.id for r in recordings)

    def _load(self, cls: type[A], aggregate_id: UUID, what: str) -> A:
        try:
            aggregate: Aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise NotFound(f"No {what} with id {aggregate_id}.") from None
        if not isinstance(aggregate, cls):
            raise NotFound(f"No {what} with id {aggregate_id}.")
        return aggregate

    def _exists(self, aggregate_id: UUID) -> bool:
        try:
            self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return False
        return True

    def _claim(self, kind: str, value: str, owner_id: UUID, meta: Meta, label: str) -> NaturalKey:
        """Claim a unique number for ``owner_id``, saved with the owner.

        On a first attempt the store's unique (id, version) index is the check: a number
        already taken makes the save conflict, and the rerun looks the claim up and refuses.
        """
        if _attempt.get() > 0 and self._exists(natural_key_id(kind, value)):
            raise Duplicate(f"The {label} {value} is already recorded.")
        return NaturalKey.claim(kind, value, owner_id, meta)

    @staticmethod
    def _meta(actor: Actor, cmd: Command, effective_date: dt.date, **refs: str | None) -> Meta:
        references = {k: v for k, v in refs.items() if v is not None}
        return Meta(actor, cmd.command_id, effective_date, references)

    def _run(self, action: str, actor: Actor, work: Callable[[], T]) -> T:
        require(actor, action)
        return self.execute(work)

    def _line(self, budget_year: int, project: str, source: str) -> BudgetLine | None:
        try:
            line: Aggregate = self.repository.get(budget_line_id(budget_year, project, source))
        except AggregateNotFoundError:
            return None
        return cast(BudgetLine, line)

    def _city_line(self, budget_year: int, project: str) -> BudgetLine:
        line = self._line(budget_year, project, CITY_BUDGET)
        if line is None:
            raise InsufficientBudget(
                f"No city-budget line has been assigned to {project} for {budget_year}."
            )
        return line

    # -- enterprises ---------------------------------------------------------------------

    def register_enterprise(self, cmd: commands.RegisterEnterprise, actor: Actor) -> Written:
        def work() -> Written:
            meta = self._meta(actor, cmd, cmd.registered_on or today())
            enterprise = Enterprise.register(cmd, meta)
            key = self._claim("tax-code", cmd.tax_code, enterprise.id, meta, "tax code")
            return Written(enterprise.id, self._save(enterprise, key))

        return self._run("register_enterprise", actor, work)

    def correct_enterprise(self, cmd: commands.CorrectEnterprise, actor: Actor) -> Written:
        def work() -> Written:
            enterprise = self._load(Enterprise, cmd.enterprise_id, "enterprise")
            enterprise.correct(cmd, self._meta(actor, cmd, cmd.corrected_on))
            return Written(enterprise.id, self._save(enterprise))

        return self._run("correct_enterprise", actor, work)

    # -- budget lines --------------------------------------------------------------------

    def assign_budget(self, cmd: commands.AssignBudget, actor: Actor) -> Written:
        """Assign a budget line; a second assignment to the same line adjusts it."""

        def work() -> Written:
            meta = self._meta(actor, cmd, cmd.decided_on, decision_no=cmd.decision_no)
            line = self._line(cmd.budget_year, cmd.project, cmd.source)
            if line is None:
                line = BudgetLine.assign(cmd.budget_year, cmd.project, cmd.source, cmd.amount, meta)
            else:
                line.adjust(cmd.amount, meta)
            return Written(line.id, self._save(line))

        return self._run("assign_budget", actor, work)

    # -- support applications ------------------------------------------------------------

    def _application(self, application_id: UUID) -> SupportApplication:
        return self._load(SupportApplication, application_id, "application")

    def submit_application(self, cmd: commands.SubmitApplication, actor: Actor) -> Written:
        def work() -> Written:
            self._load(Enterprise, cmd.enterprise_id, "enterprise")
            meta = self._meta(actor, cmd, cmd.submitted_on, dossier_no=cmd.dossier_no)
            application = SupportApplication.submit(cmd, meta)
            key = self._claim("dossier", cmd.dossier_no, application.id, meta, "dossier number")
            return Written(application.id, self._save(application, key))

        return self._run("submit_application", actor, work)

    def _simple(
        self,
        action: str,
        cmd: commands.ApplicationCommand,
        actor: Actor,
        effective_date: dt.date,
        change: Callable[[SupportApplication, Meta], object],
    ) -> Written:
        def work() -> Written:
            application = self._application(cmd.application_id)
            change(application, self._meta(actor, cmd, effective_date))
            return Written(application.id, self._save(application))

        return self._run(action, actor, work)

    def return_application(self, cmd: commands.ReturnApplication, actor: Actor) -> Written:
        return self._simple(
            "return_application", cmd, actor, cmd.returned_on,
            lambda a, m: a.return_for_completion(cmd.reason, m),
        )  # fmt: skip

    def resubmit_application(self, cmd: commands.ResubmitApplication, actor: Actor) -> Written:
        return self._simple(
            "resubmit_application", cmd, actor, cmd.resubmitted_on,
            lambda a, m: a.resubmit(cmd.note, m),
        )  # fmt: skip

    def appraise_application(self, cmd: commands.AppraiseApplication, actor: Actor) -> Written:
        return self._simple(
            "appraise_application", cmd, actor, cmd.appraised_on,
            lambda a, m: a.appraise(cmd, m),
        )  # fmt: skip

    def reject_application(self, cmd: commands.RejectApplication, actor: Actor) -> Written:
        return self._simple(
            "reject_application", cmd, actor, cmd.decided_on,
            lambda a, m: a.reject(cmd.reason, m),
        )  # fmt: skip

    def withdraw_application(self, cmd: commands.WithdrawApplication, actor: Actor) -> Written:
        return self._simple(
            "withdraw_application", cmd, actor, cmd.withdrawn_on,
            lambda a, m: a.withdraw(cmd.reason, m),
        )  # fmt: skip

    def record_acceptance(self, cmd: commands.RecordAcceptance, actor: Actor) -> Written:
        return self._simple(
            "record_acceptance", cmd, actor, cmd.accepted_on,
            lambda a, m: a.record_acceptance(cmd, m),
        )  # fmt: skip

    def approve_application(self, cmd: commands.ApproveApplication, actor: Actor) -> Written:
        def work() -> Written:
            application = self._application(cmd.application_id)
            meta = self._meta(actor, cmd, cmd.decided_on, decision_no=cmd.decision_no)
            application.approve(cmd, meta)
            line = None
            if cmd.approved.city_budget:
                line = self._city_line(cmd.budget_year, application.project)
                line.commit(application.id, cmd.approved.city_budget, meta)
            return Written(application.id, self._save(application, line))

        return self._run("approve_application", actor, work)

    def sign_contract(self, cmd: commands.SignContract, actor: Actor) -> Written:
        def work() -> Written:
            application = self._application(cmd.application_id)
            meta = self._meta(actor, cmd, cmd.signed_on, contract_no=cmd.contract_no)
            application.sign_contract(cmd.contract_no, meta)
            key = self._claim("contract", cmd.contract_no, application.id, meta, "contract number")
            return Written(application.id, self._save(application, key))

        return self._run("sign_contract", actor, work)

    def record_disbursement(self, cmd: commands.RecordDisbursement, actor: Actor) -> Written:
        def work() -> Written:
            application = self._application(cmd.application_id)
            meta = self._meta(actor, cmd, cmd.paid_on, voucher_no=cmd.voucher_no)
            disbursement_id = application.disburse(cmd, meta)
            key = self._claim("voucher", cmd.voucher_no, disbursement_id, meta, "voucher number")
            line = self._city_line(cast(int, application.budget_year), application.project)
            line.disburse(application.id, disbursement_id, cmd.amount, meta)
            position = self._save(application, line, key)
            return Written(disbursement_id, position, {"application_id": str(application.id)})

        return self._run("record_disbursement", actor, work)

    def reverse_disbursement(self, cmd: commands.ReverseDisbursement, actor: Actor) -> Written:
        def work() -> Written:
            application = self._application(cmd.application_id)
            meta = self._meta(actor, cmd, cmd.reversed_on)
            amount = application.reverse_disbursement(cmd.disbursement_id, cmd.reason, meta)
            line = self._city_line(cast(int, application.budget_year), application.project)
            line.reverse_disbursement(application.id, cmd.disbursement_id, amount, meta)
            if application.is_closed:
                # A closed application's commitment equals its money out: what a reversal
                # takes back is no longer committed.
                line.release(application.id, amount, meta)
            return Written(cmd.disbursement_id, self._save(application, line))

        return self._run("reverse_disbursement", actor, work)

    def _close(
        self,
        action: str,
        cmd: commands.ApplicationCommand,
        actor: Actor,
        effective_date: dt.date,
        close: Callable[[SupportApplication, Meta], int],
    ) -> Written:
        def work() -> Written:
            application = self._application(cmd.application_id)
            meta = self._meta(actor, cmd, effective_date)
            released = close(application, meta)
            line = None
            if application.approved_city_budget:
                line = self._city_line(cast(int, application.budget_year), application.project)
                line.release(application.id, released, meta)
            return Written(application.id, self._save(application, line))

        return self._run(action, actor, work)

    def settle_application(self, cmd: commands.SettleApplication, actor: Actor) -> Written:
        return self._close(
            "settle_application", cmd, actor, cmd.settled_on, lambda a, m: a.settle(cmd.note, m)
        )

    def cancel_application(self, cmd: commands.CancelApplication, actor: Actor) -> Written:
        return self._close(
            "cancel_application", cmd, actor, cmd.cancelled_on,
            lambda a, m: a.cancel(cmd.reason, m),
        )  # fmt: skip

    def order_recovery(self, cmd: commands.OrderRecovery, actor: Actor) -> Written:
        def work() -> Written:
            application = self._application(cmd.application_id)
            meta = self._meta(actor, cmd, cmd.ordered_on)
            recovery_id = application.order_recovery(cmd.amount, cmd.reason, meta)
            position = self._save(application)
            return Written(recovery_id, position, {"application_id": str(application.id)})

        return self._run("order_recovery", actor, work)

    def receive_recovery(self, cmd: commands.ReceiveRecovery, actor: Actor) -> Written:
        def work() -> Written:
            application = self._application(cmd.application_id)
            meta = self._meta(actor, cmd, cmd.received_on, voucher_no=cmd.voucher_no)
            amount = application.receive_recovery(cmd.recovery_id, meta)
            key = self._claim("voucher", cmd.voucher_no, cmd.recovery_id, meta, "voucher number")
            line = self._city_line(cast(int, application.budget_year), application.project)
            line.recover(application.id, cmd.recovery_id, amount, meta)
            if application.is_closed:
                # After settlement or cancellation the commitment equals the money out:
                # what comes back is no longer committed.
                line.release(application.id, amount, meta)
            return Written(cmd.recovery_id, self._save(application, line, key))

        return self._run("receive_recovery", actor, work)

    # -- program activities ----------------------------------------------------------------

    def approve_activity(self, cmd: commands.ApproveActivity, actor: Actor) -> Written:
        def work() -> Written:
            meta = self._meta(actor, cmd, cmd.approved_on, decision_no=cmd.decision_no)
            activity = ProgramActivity.approve(cmd, meta)
            line = self._city_line(cmd.budget_year, cmd.project)
            line.commit(activity.id, cmd.budget, meta)
            return Written(activity.id, self._save(activity, line))

        return self._run("approve_activity", actor, work)

    def record_activity_spending(
        self, cmd: commands.RecordActivitySpending, actor: Actor
    ) -> Written:
        def work() -> Written:
            activity = self._load(ProgramActivity, cmd.activity_id, "activity")
            meta = self._meta(actor, cmd, cmd.spent_on, voucher_no=cmd.voucher_no)
            spending_id = activity.spend(cmd.amount, cmd.voucher_no, meta)
            key = self._claim("voucher", cmd.voucher_no, spending_id, meta, "voucher number")
            line = self._city_line(activity.budget_year, activity.project)
            line.disburse(activity.id, spending_id, cmd.amount, meta)
            return Written(spending_id, self._save(activity, line, key))

        return self._run("record_activity_spending", actor, work)

    def complete_activity(self, cmd: commands.CompleteActivity, actor: Actor) -> Written:
        def work() -> Written:
            activity = self._load(ProgramActivity, cmd.activity_id, "activity")
            meta = self._meta(actor, cmd, cmd.completed_on)
            released = activity.complete(cmd.report, meta)
            line = self._city_line(activity.budget_year, activity.project)
            line.release(activity.id, released, meta)
            return Written(activity.id, self._save(activity, line))

        return self._run("complete_activity", actor, work)

    # -- users and tokens ------------------------------------------------------------------

    def grant_access(self, cmd: commands.GrantAccess, actor: Actor) -> GrantedAccess:
        token = new_token()

        def work() -> GrantedAccess:
            user = User.grant(cmd.name, cmd.role, cmd.department, token, self._meta(
                actor, cmd, today()
            ))  # fmt: skip
            return GrantedAccess(user.id, token, self._save(user))

        return self._run("grant_access", actor, work)

    def revoke_access(self, cmd: commands.RevokeAccess, actor: Actor) -> Written:
        """Revoke a user's access. An admin's is refused if it is the actor's own or the
        last active admin's, and is written with the ``Administrators`` guard, which makes
        two such revocations racing each other run one after the other (ledger/user.py)."""

        def work() -> Written:
            user = self._load(User, cmd.user_id, "user")
            meta = self._meta(actor, cmd, today())
            user.revoke(cmd.reason, meta)
            guard = None
            if user.role == ADMIN:
                guard = self._administrators(meta)  # read before the admins are counted
                others = sum(
                    1 for u in self._users() if u.role == ADMIN and u.active and u.id != user.id
                )
                guard.revoke(user, others, meta)
            return Written(user.id, self._save(user, guard))

        return self._run("revoke_access", actor, work)

    def _administrators(self, meta: Meta) -> Administrators:
        try:
            guard: Aggregate = self.repository.get(ADMINISTRATORS_ID)
        except AggregateNotFoundError:
            return Administrators.open(meta)
        return cast(Administrators, guard)

    def _users(self) -> list[User]:
        """Every user ever granted access, in the order they were."""
        granted = get_topic(User.Granted)
        notifications = self.recorder.select_notifications(
            start=None, limit=1_000_000, topics=[granted]
        )
        return [self._load(User, UUID(str(n.originator_id)), "user") for n in notifications]

    def authenticate(self, token: str) -> Actor:
        """The actor a bearer token stands for; ``Unauthorized`` if unknown or revoked."""
        if not token or len(token) > 512:
            raise Unauthorized("A valid bearer token is required.")
        try:
            user: Aggregate = self.repository.get(user_id_for_token(token))
        except AggregateNotFoundError:
            raise Unauthorized("The token is not valid.") from None
        if not isinstance(user, User):
            raise Unauthorized("The token is not valid.")
        if not user.active:
            raise Unauthorized("This token has been revoked.")
        return Actor(str(user.id), user.name, user.role, user.department)

    def list_users(self) -> list[dict[str, Any]]:
        return [u.as_dict() for u in self._users()]

    # -- queries ---------------------------------------------------------------------------

    def position(self) -> int:
        return self.recorder.max_notification_id() or 0

    def get_enterprise(self, enterprise_id: UUID) -> dict[str, Any]:
        return self._load(Enterprise, enterprise_id, "enterprise").as_dict()

    def get_application(self, application_id: UUID) -> dict[str, Any]:
        return self._application(application_id).as_dict()

    def get_activity(self, activity_id: UUID) -> dict[str, Any]:
        return self._load(ProgramActivity, activity_id, "activity").as_dict()

    def get_budget_lines(
        self, budget_year: int | None = None, project: str | None = None, source: str | None = None
    ) -> list[dict[str, Any]]:
        wanted = (budget_year, project, source)
        candidates = [
            line_id
            for line_id, key in BUDGET_LINES.items()
            if all(w is None or w == k for w, k in zip(wanted, key, strict=True))
        ]
        table = self.events_table
        query = select(table.c.originator_id).where(
            table.c.originator_id.in_(candidates), table.c.originator_version == 1
        )
        with self.engine.connect() as connection:
            ids = [row[0] for row in connection.execute(query)]
        lines = [self._load(BudgetLine, i, "budget line") for i in ids]
        lines.sort(key=lambda line: (line.budget_year, line.project, line.source))
        return [line.as_dict() for line in lines]

    def get_application_history(self, application_id: UUID) -> list[dict[str, Any]]:
        """Every event of an application, oldest first (API.md), each with the RFC 9162 leaf
        hash of its stored row and what it changed in the application's state.

        One query reads the application's rows; each is decoded by the ledger's mapper and
        folded by the repository's own projector, so the state after the last event is the
        one ``get_application`` answers (both are the application's ``as_dict()``).
        """
        table = self.events_table
        query = (
            select(
                table.c.id,
                table.c.originator_id,
                table.c.originator_version,
                table.c.topic,
                table.c.state,
            )
            .where(table.c.originator_id == application_id)
            .order_by(table.c.originator_version)
        )
        with self.engine.connect() as connection:
            rows = list(connection.execute(query))
        history: list[dict[str, Any]] = []
        application: Aggregate | None = None
        before: dict[str, Any] | None = None
        for row in rows:
            stored = StoredEvent(
                application_id, row.originator_version, row.topic, bytes(row.state)
            )
            domain_event = self.mapper.to_domain_event(stored)
            application = project_aggregate(application, [domain_event])
            if not isinstance(application, SupportApplication):
                break
            after = deepcopy(application.as_dict())
            entry = self._history_row(row, domain_event)
            entry["changes"] = _state_changes(before, after)
            history.append(entry)
            before = after
        if not history or not isinstance(application, SupportApplication):
            raise NotFound(f"No application with id {application_id}.")
        return history

    @staticmethod
    def _history_row(row: Any, domain_event: object) -> dict[str, Any]:
        assert isinstance(domain_event, LedgerAggregate.Event)
        skip = {
            "originator_id", "originator_version", "timestamp", "originator_topic",
            "actor", "department", "effective_date",
        }  # fmt: skip
        data = {k: _jsonable(v) for k, v in vars(domain_event).items() if k not in skip}
        leaf = event_leaf_hash(
            row.originator_id, row.originator_version, row.id, bytes(row.state), row.topic
        )
        return {
            "position": row.id,
            "recorded_at": domain_event.timestamp.isoformat(),
            "effective_date": domain_event.effective_date.isoformat(),
            "type": type(domain_event).__name__,
            "actor": domain_event.actor,
            "department": domain_event.department,
            "data": data,
            "leaf_hash": leaf.hex(),
        }

    def count_events(self) -> int:
        with self.engine.connect() as connection:
            return int(
                connection.execute(select(func.count()).select_from(self.events_table)).scalar_one()
            )


#: fields of the application's state that every event changes, so no change names them
_NOT_CHANGES = frozenset({"version"})


def _state_changes(
    before: dict[str, Any] | None, after: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """What one event changed, as ``{path: {"from": old, "to": new}}`` (only what changed).

    ``before`` is ``None`` for the first event: every field was null. A path is a field of
    the state; for a list of items with ids (``disbursements``, ``recoveries``) it is
    ``field[<id>]`` for an item added (``from`` null) or removed (``to`` null) and
    ``field[<id>].name`` for one value of an item that changed (e.g. ``reversed``).
    """
    old_state = before or {}
    changes: dict[str, dict[str, Any]] = {}
    for name in [*after, *(k for k in old_state if k not in after)]:
        if name in _NOT_CHANGES:
            continue
        old, new = old_state.get(name), after.get(name)
        if old == new:
            continue
        if _is_item_list(old) and _is_item_list(new):
            changes.update(_item_changes(name, old, new))
        else:
            changes[name] = {"from": old, "to": new}
    return changes


def _is_item_list(value: Any) -> TypeGuard[list[dict[str, Any]]]:
    return isinstance(value, list) and all(isinstance(i, dict) and "id" in i for i in value)


def _item_changes(
    name: str, old: list[dict[str, Any]], new: list[dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    old_items = {str(i["id"]): i for i in old}
    new_items = {str(i["id"]): i for i in new}
    changes: dict[str, dict[str, Any]] = {}
    for item_id in [*new_items, *(k for k in old_items if k not in new_items)]:
        was, now = old_items.get(item_id), new_items.get(item_id)
        if was is None or now is None:
            changes[f"{name}[{item_id}]"] = {"from": was, "to": now}
            continue
        for key in [*now, *(k for k in was if k not in now)]:
            if was.get(key) != now.get(key):
                changes[f"{name}[{item_id}].{key}"] = {"from": was.get(key), "to": now.get(key)}
    return changes


def _jsonable(value: Any) -> Any:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


_NOT_DONE = object()


def _not_stored(failed: BaseException) -> StorageFailed:
    return StorageFailed(
        f"The database did not store the change ({failed}); nothing was written. "
        "Please try again once the server's storage is fixed."
    )


def _is_transient(error: BaseException) -> bool:
    text = str(error).lower()
    return "database is locked" in text or "could not serialize" in text or "deadlock" in text

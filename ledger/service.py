"""The application service: the one door through which every change enters the ledger.

Each public command method takes a frozen command and the acting user, checks who may run
it, loads the aggregates, lets them check the invariants (raising a ``LedgerError`` before
any event exists) and saves every changed aggregate in one database transaction. An
optimistic-concurrency conflict (another writer saved one of the same aggregates first)
rolls the whole transaction back and runs the command again from fresh state, a bounded
number of times, then answers ``concurrency_conflict``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar, cast
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, Repository
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import ApplicationRecorder, JSONTranscoder, Recording, StoredEvent
from eventsourcing.utils import get_topic
from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from ledger import commands, settings
from ledger.access import Actor, require
from ledger.base import Meta
from ledger.base import Written as Written
from ledger.budgeting import BudgetDesk
from ledger.commands import Command, today
from ledger.enterprise import Enterprise
from ledger.errors import (
    Duplicate,
    FieldProblem,
    InvalidTransition,
    NotFound,
    Unauthorized,
    ValidationFailed,
)
from ledger.estimates import EstimateDesk
from ledger.history import application_history
from ledger.messages import Message
from ledger.natural_key import NaturalKey, natural_key_id
from ledger.people import TOPICS as USER_TOPICS
from ledger.people import UsersRegister
from ledger.persistence import (
    APPLICATION_NAME,
    DateAsISO,
    backend_name,
    configure_engine,
    database_url,
    event_store_env,
)
from ledger.program_activity import ProgramActivity
from ledger.recorder import LedgerRecorder
from ledger.repository import CommittedStateRepository, note_saved
from ledger.support_application import SupportApplication
from ledger.unit_of_work import UnitOfWork, attempt, drop_refused_commits
from ledger.user import ADMIN, ADMINISTRATORS_ID, Administrators, User, new_token, user_id_for_token
from ledger.vocabulary import CHANNEL, NUMBER, not_found

T = TypeVar("T")
A = TypeVar("A", bound=Aggregate)


@dataclass(frozen=True, slots=True)
class GrantedAccess:
    user_id: UUID
    token: str
    position: int


class Ledger(Application[UUID], EstimateDesk, BudgetDesk):
    """The NSCL ledger: one append-only event store, every command through here."""

    name = APPLICATION_NAME

    def __init__(self, url: str | None = None, env: dict[str, str] | None = None) -> None:
        self.url = database_url(url)
        super().__init__(env={**event_store_env(self.url), **(env or {})})
        configure_engine(self.engine)
        drop_refused_commits(self.engine)
        self.unit = UnitOfWork(self.recorder.datastore, self.events_table)  # type: ignore[attr-defined]

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
            # the library's environment: os.environ, then the ``env`` given to the ledger
            cache_size=settings.AGGREGATE_CACHE_SIZE.get(self.env),
        )

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]:
        repository = cast(CommittedStateRepository, self.repository)
        repository.forget_settled(o.id for o in objs if isinstance(o, Aggregate))
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
        """The session of the current unit of work (or a new write transaction)."""
        with self.unit.session() as session:
            yield session

    def execute(self, work: Callable[[], T]) -> T:
        """Run ``work`` as one unit of work (``ledger/unit_of_work.py``: one transaction,
        rerun on a lost race or a lost connection, refused past that)."""
        return self.unit.execute(work)

    def read(self, query: Callable[[], T]) -> T:
        """Run ``query`` (which writes nothing), once more if the connection was lost."""
        return self.unit.read(query)

    @property
    def retries(self) -> int:
        """Units of work rerun after losing an optimistic-concurrency race (for operators)."""
        return self.unit.retries

    def _save(self, *aggregates: Aggregate | None) -> int:
        recordings = self.save(*aggregates)
        if not recordings:
            return self.position()
        return max(r.notification.id for r in recordings)

    def _load(self, cls: type[A], aggregate_id: UUID, what: str) -> A:
        try:
            aggregate: Aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise NotFound(not_found(what, aggregate_id)) from None
        if not isinstance(aggregate, cls):
            raise NotFound(not_found(what, aggregate_id))
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
        if attempt() > 0 and self._exists(natural_key_id(kind, value)):
            raise Duplicate(
                Message(
                    "The {label} {value} is already recorded.", label=NUMBER(label), value=value
                )
            )
        return NaturalKey.claim(kind, value, owner_id, meta)

    def _meta(
        self, actor: Actor, cmd: Command, effective_date: dt.date, **refs: str | None
    ) -> Meta:
        """The common part of the command's events; refused (``period_closed``) when the
        effective date lies in a closed budget year (invariant 7)."""
        self._check_year_open(effective_date.year, cmd)
        references = {k: v for k, v in refs.items() if v is not None}
        return Meta(actor, cmd.command_id, effective_date, references)

    def _run(self, cmd: Command, actor: Actor, work: Callable[[], T]) -> T:
        require(actor, cmd.action)
        return self.execute(work)

    # -- enterprises ---------------------------------------------------------------------

    def register_enterprise(self, cmd: commands.RegisterEnterprise, actor: Actor) -> Written:
        def work() -> Written:
            meta = self._meta(actor, cmd, cmd.registered_on or today())
            enterprise = Enterprise.register(cmd, meta)
            key = self._claim("tax-code", cmd.tax_code, enterprise.id, meta, "tax code")
            return Written(enterprise.id, self._save(enterprise, key))

        return self._run(cmd, actor, work)

    def correct_enterprise(self, cmd: commands.CorrectEnterprise, actor: Actor) -> Written:
        def work() -> Written:
            enterprise = self._load(Enterprise, cmd.enterprise_id, "enterprise")
            enterprise.correct(cmd, self._meta(actor, cmd, cmd.corrected_on))
            return Written(enterprise.id, self._save(enterprise))

        return self._run(cmd, actor, work)

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

        return self._run(cmd, actor, work)

    def _simple(
        self,
        cmd: commands.ApplicationCommand,
        actor: Actor,
        effective_date: dt.date,
        change: Callable[[SupportApplication, Meta], object],
    ) -> Written:
        def work() -> Written:
            application = self._application(cmd.application_id)
            change(application, self._meta(actor, cmd, effective_date))
            return Written(application.id, self._save(application))

        return self._run(cmd, actor, work)

    def return_application(self, cmd: commands.ReturnApplication, actor: Actor) -> Written:
        return self._simple(
            cmd, actor, cmd.returned_on, lambda a, m: a.return_for_completion(cmd.reason, m)
        )

    def resubmit_application(self, cmd: commands.ResubmitApplication, actor: Actor) -> Written:
        return self._simple(cmd, actor, cmd.resubmitted_on, lambda a, m: a.resubmit(cmd.note, m))

    def appraise_application(self, cmd: commands.AppraiseApplication, actor: Actor) -> Written:
        return self._simple(cmd, actor, cmd.appraised_on, lambda a, m: a.appraise(cmd, m))

    def reject_application(self, cmd: commands.RejectApplication, actor: Actor) -> Written:
        return self._simple(cmd, actor, cmd.decided_on, lambda a, m: a.reject(cmd.reason, m))

    def withdraw_application(self, cmd: commands.WithdrawApplication, actor: Actor) -> Written:
        return self._simple(cmd, actor, cmd.withdrawn_on, lambda a, m: a.withdraw(cmd.reason, m))

    def record_acceptance(self, cmd: commands.RecordAcceptance, actor: Actor) -> Written:
        return self._simple(cmd, actor, cmd.accepted_on, lambda a, m: a.record_acceptance(cmd, m))

    def approve_application(self, cmd: commands.ApproveApplication, actor: Actor) -> Written:
        def work() -> Written:
            application = self._application(cmd.application_id)
            if cmd.decided_on.year != cmd.budget_year:
                raise ValidationFailed(
                    Message(
                        "An approval is decided in its budget year: {budget_year}, not "
                        "{decided_on:%d/%m/%Y}.",
                        budget_year=cmd.budget_year,
                        decided_on=cmd.decided_on,
                    ),
                    errors=(
                        FieldProblem(
                            ("body", "decided_on"),
                            Message("not in {budget_year}", budget_year=cmd.budget_year),
                        ),
                    ),
                )
            meta = self._meta(actor, cmd, cmd.decided_on, decision_no=cmd.decision_no)
            rule = self.rule_in_force(application.support_type, cmd.decided_on)
            application.approve(cmd, meta, rule)
            line = None
            if cmd.approved.city_budget:
                line = self._city_line(cmd.budget_year, application.project, cmd.channel)
                line.commit(application.id, cmd.approved.city_budget, meta)
            return Written(application.id, self._save(application, line))

        return self._run(cmd, actor, work)

    def sign_contract(self, cmd: commands.SignContract, actor: Actor) -> Written:
        def work() -> Written:
            application = self._application(cmd.application_id)
            meta = self._meta(actor, cmd, cmd.signed_on, contract_no=cmd.contract_no)
            application.sign_contract(cmd.contract_no, meta)
            key = self._claim("contract", cmd.contract_no, application.id, meta, "contract number")
            return Written(application.id, self._save(application, key))

        return self._run(cmd, actor, work)

    def record_disbursement(self, cmd: commands.RecordDisbursement, actor: Actor) -> Written:
        def work() -> Written:
            application = self._application(cmd.application_id)
            meta = self._meta(actor, cmd, cmd.paid_on, voucher_no=cmd.voucher_no)
            asked = cmd.channel
            if asked is not None and asked != application.channel:
                raise InvalidTransition(
                    Message(
                        "Application {dossier_no} was approved on the {approved} channel; its "
                        "payments are made from it, not from {asked}.",
                        dossier_no=application.dossier_no,
                        approved=CHANNEL(str(application.channel)),
                        asked=CHANNEL(asked),
                    )
                )
            disbursement_id = application.disburse(cmd, meta)
            key = self._claim("voucher", cmd.voucher_no, disbursement_id, meta, "voucher number")
            line = self._drawing_line(application)
            line.disburse(application.id, disbursement_id, cmd.amount, meta)
            position = self._save(application, line, key)
            return Written(disbursement_id, position, {"application_id": str(application.id)})

        return self._run(cmd, actor, work)

    def reverse_disbursement(self, cmd: commands.ReverseDisbursement, actor: Actor) -> Written:
        def work() -> Written:
            application = self._application(cmd.application_id)
            meta = self._meta(actor, cmd, cmd.reversed_on)
            amount = application.reverse_disbursement(cmd.disbursement_id, cmd.reason, meta)
            paid_from = application.disbursements[cmd.disbursement_id].year
            drawing = self._drawing_line(application)
            # the reversal goes back to the line that paid: a payment of before a year close
            # that carried the application over was paid by the closed year's line
            line = drawing
            if paid_from != drawing.budget_year:
                line = self._city_line(paid_from, application.project, drawing.channel)
            line.reverse_disbursement(application.id, cmd.disbursement_id, amount, meta)
            if application.is_closed:
                # A closed application's commitment equals its money out: what a reversal
                # takes back is no longer committed.
                self._release(line, application.id, amount, meta)
            elif line is not drawing:
                # still to be paid, from where the application draws now: the commitment
                # follows it there, as a close would have carried it
                line.carry_out(application.id, amount, meta, to_year=drawing.budget_year)
                drawing.carry_in(application.id, amount, paid_from, meta)
                application.carry(drawing.budget_year, amount, meta, from_year=paid_from)
            lines = (line,) if line is drawing else (line, drawing)
            return Written(cmd.disbursement_id, self._save(application, *lines))

        return self._run(cmd, actor, work)

    def _close(
        self,
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
                line = self._drawing_line(application)
                self._release(line, application.id, released, meta)
            return Written(application.id, self._save(application, line))

        return self._run(cmd, actor, work)

    def settle_application(self, cmd: commands.SettleApplication, actor: Actor) -> Written:
        return self._close(cmd, actor, cmd.settled_on, lambda a, m: a.settle(cmd.note, m))

    def cancel_application(self, cmd: commands.CancelApplication, actor: Actor) -> Written:
        return self._close(cmd, actor, cmd.cancelled_on, lambda a, m: a.cancel(cmd.reason, m))

    def order_recovery(self, cmd: commands.OrderRecovery, actor: Actor) -> Written:
        def work() -> Written:
            application = self._application(cmd.application_id)
            meta = self._meta(actor, cmd, cmd.ordered_on)
            recovery_id = application.order_recovery(cmd.amount, cmd.reason, meta)
            position = self._save(application)
            return Written(recovery_id, position, {"application_id": str(application.id)})

        return self._run(cmd, actor, work)

    def receive_recovery(self, cmd: commands.ReceiveRecovery, actor: Actor) -> Written:
        def work() -> Written:
            application = self._application(cmd.application_id)
            meta = self._meta(actor, cmd, cmd.received_on, voucher_no=cmd.voucher_no)
            ordered = application.recoveries.get(cmd.recovery_id)
            parts = application.recovery_lines(ordered.amount) if ordered is not None else []
            application.receive_recovery(cmd.recovery_id, meta)
            key = self._claim("voucher", cmd.voucher_no, cmd.recovery_id, meta, "voucher number")
            lines = []
            for year, part in parts:  # the lines it was paid from (see recovery_lines)
                line = self._city_line(year, application.project, cast(str, application.channel))
                line.recover(application.id, cmd.recovery_id, part, meta)
                if application.is_closed:
                    # After settlement or cancellation the commitment equals the money out:
                    # what comes back is no longer committed.
                    self._release(line, application.id, part, meta)
                lines.append(line)
            return Written(cmd.recovery_id, self._save(application, *lines, key))

        return self._run(cmd, actor, work)

    # -- program activities ----------------------------------------------------------------

    def approve_activity(self, cmd: commands.ApproveActivity, actor: Actor) -> Written:
        def work() -> Written:
            meta = self._meta(actor, cmd, cmd.approved_on, decision_no=cmd.decision_no)
            self._check_year_open(cmd.budget_year, cmd)
            activity = ProgramActivity.approve(cmd, meta)
            line = self._city_line(cmd.budget_year, cmd.project, cmd.channel)
            line.commit(activity.id, cmd.budget, meta)
            return Written(activity.id, self._save(activity, line))

        return self._run(cmd, actor, work)

    def record_activity_spending(
        self, cmd: commands.RecordActivitySpending, actor: Actor
    ) -> Written:
        def work() -> Written:
            activity = self._load(ProgramActivity, cmd.activity_id, "activity")
            meta = self._meta(actor, cmd, cmd.spent_on, voucher_no=cmd.voucher_no)
            spending_id = activity.spend(cmd.amount, cmd.voucher_no, meta)
            key = self._claim("voucher", cmd.voucher_no, spending_id, meta, "voucher number")
            line = self._drawing_line(activity)
            line.disburse(activity.id, spending_id, cmd.amount, meta)
            return Written(spending_id, self._save(activity, line, key))

        return self._run(cmd, actor, work)

    def complete_activity(self, cmd: commands.CompleteActivity, actor: Actor) -> Written:
        def work() -> Written:
            activity = self._load(ProgramActivity, cmd.activity_id, "activity")
            meta = self._meta(actor, cmd, cmd.completed_on)
            released = activity.complete(cmd.report, meta)
            line = self._drawing_line(activity)
            self._release(line, activity.id, released, meta)
            return Written(activity.id, self._save(activity, line))

        return self._run(cmd, actor, work)

    # -- users and tokens ------------------------------------------------------------------

    def grant_access(self, cmd: commands.GrantAccess, actor: Actor) -> GrantedAccess:
        token = new_token()

        def work() -> GrantedAccess:
            user = User.grant(
                cmd.name, cmd.role, cmd.department, token, self._meta(actor, cmd, today())
            )
            return GrantedAccess(user.id, token, self._save(user))

        return self._run(cmd, actor, work)

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

        return self._run(cmd, actor, work)

    def change_user(self, cmd: commands.ChangeUser, actor: Actor) -> Written:
        """Rename a user or move them to another department. Their token stays; what they
        record from now on carries the new department, and the events recorded before keep
        the name and department in force then (``ledger/people.py``)."""

        def work() -> Written:
            user = self._load(User, cmd.user_id, "user")
            user.change(cmd.name, cmd.department, cmd.reason, self._meta(actor, cmd, today()))
            return Written(user.id, self._save(user))

        return self._run(cmd, actor, work)

    def users_register(
        self, upto: int | None = None, user_ids: Collection[str] | None = None
    ) -> UsersRegister:
        """Who each user was at every position up to ``upto`` (default: the head), folded
        from the ``User`` events in position order (``ledger/people.py``). With ``user_ids``,
        only those users' (read by their ids, not by a scan of the log; an id that is no
        user's, like ``system``, is left out)."""
        register = UsersRegister()
        if user_ids is None:
            notifications = self.recorder.select_notifications(
                start=None, limit=1_000_000, stop=upto, topics=USER_TOPICS
            )
            for notification in notifications:
                register.fold(self.mapper.to_domain_event(notification), notification.id)
            return register
        ids = [found for found in map(_uuid_or_none, user_ids) if found is not None]
        if not ids:
            return register
        t = self.events_table
        query = (
            select(t.c.id, t.c.originator_id, t.c.originator_version, t.c.topic, t.c.state)
            .where(t.c.originator_id.in_(ids), t.c.topic.in_(USER_TOPICS))
            .order_by(t.c.id)
        )
        if upto is not None:
            query = query.where(t.c.id <= upto)
        with self.engine.connect() as connection:
            for row in connection.execute(query):
                stored = StoredEvent(
                    row.originator_id, row.originator_version, row.topic, bytes(row.state)
                )
                register.fold(self.mapper.to_domain_event(stored), row.id)
        return register

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
            raise Unauthorized(Message("A valid bearer token is required."))
        return self._active(
            user_id_for_token(token),
            Message("The token is not valid."),
            Message("This token has been revoked."),
        )

    def actor_of(self, user_id: UUID) -> Actor:
        """The actor a signed-in session stands for (the user its token named at sign-in);
        ``Unauthorized`` if there is no such user or its access has been revoked since."""
        return self._active(
            user_id,
            Message("The session's user is not known."),
            Message("This user's access has been revoked."),
        )

    def _active(self, user_id: UUID, unknown: Message, revoked: Message) -> Actor:
        try:
            user: Aggregate = self.repository.get(user_id)
        except AggregateNotFoundError:
            raise Unauthorized(unknown) from None
        if not isinstance(user, User):
            raise Unauthorized(unknown)
        if not user.active:
            raise Unauthorized(revoked)
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

    def get_application_history(
        self, application_id: UUID, *, personnel: bool = True
    ) -> list[dict[str, Any]]:
        """Every event of an application, oldest first, with its leaf hash, what it changed
        and who recorded it: id, department and, with ``personnel`` (whether the reader may
        read personnel data, ``ledger.access.may_read_personnel``), name, as they were then
        (``ledger/history.py``)."""
        return application_history(
            self.engine,
            self.events_table,
            self.mapper,
            application_id,
            self.users_register if personnel else None,
        )

    def count_events(self) -> int:
        with self.engine.connect() as connection:
            return int(
                connection.execute(select(func.count()).select_from(self.events_table)).scalar_one()
            )


def _uuid_or_none(text: str) -> UUID | None:
    """``text`` as a user id, or ``None`` if it is no UUID (the ``system`` actor)."""
    try:
        return UUID(text)
    except ValueError:
        return None

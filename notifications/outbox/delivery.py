"""Delivering outbox rows: the table is the queue, a task only says "there is mail".

A delivery task claims the next chunk of due rows of its category (urgent before bulk; a bulk
drain also takes any due urgent rows before each of its groups), with SELECT ... FOR UPDATE
SKIP LOCKED and a lease whose value is the claim's fencing token. It sends them over its
thread's open connection and claims again while due rows remain, within
settings.NOTIFICATIONS_DRAIN_BUDGET seconds; then it rings the doorbell for a successor.

On the way out a row passes three gates, each in its own module: suppressed recipients are
dropped (suppression.py), the provider-wide send rate is respected (throttle.py), and a provider
that is down hands over to the next one (failover.py). Outcomes are written in groups
(outcomes.py), which bounds what a killed worker can send twice.
"""

import email.utils
import json
import logging
import random
import time
from contextlib import contextmanager
from datetime import timedelta

from django.db import DatabaseError, connection, transaction
from django.db.models import F
from django.utils import timezone

from ..conf import settings
from ..models import OutboundEmail
from ..ops import metrics
from ..tracking.suppression import message_without_suppressed, suppression_active
from . import crypto, doorbell, failover, providers, throttle
from .message import from_payload, redact
from .outcomes import Outcomes
from .transport import (  # noqa: F401  (the public names of delivery, as before)
    Permanent,
    is_permanent,
    mime_load,
    mime_store,
    transport_connection,
    transport_reset,
    transport_send,
)

logger = logging.getLogger(__name__)
Status = OutboundEmail.Status
Category = OutboundEmail.Category
# deliver_one's answer when the send rate put the row back in the queue (not an attempt).
DEFERRED = "deferred"
# How often a bulk drain looks for urgent rows that became due while it sends (seconds).
URGENT_CHECK = 0.1


def retry_delay(attempts):
    """Exponential back-off with jitter: base * 2^(n-1), capped, then spread over its upper half."""
    ceiling = min(settings.NOTIFICATIONS_RETRY_MAX, settings.NOTIFICATIONS_RETRY_BASE * 2 ** max(attempts - 1, 0))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def _new_lease(now):
    # The random microseconds make the lease unique to this claim: it is the fencing token.
    return now + timedelta(seconds=settings.NOTIFICATIONS_SEND_LEASE, microseconds=random.randrange(1_000_000))


def _claim(queryset, limit, now):
    """Claim up to `limit` rows of `queryset` (queued and due); returns (rows in claim order, lease)."""
    lease = _new_lease(now)
    if connection.vendor == "postgresql":
        rows = _claim_returning(queryset, limit, lease)
        rows.sort(key=lambda row: (row.next_attempt_at, row.pk))  # the order of _due()
        return rows, lease
    with transaction.atomic():  # SQLite (`make run`, a small project): no SKIP LOCKED, one writer at a time
        ids = list(queryset.select_for_update(skip_locked=True).values_list("pk", flat=True)[:limit])
        if not ids:
            return [], lease
        claimed = OutboundEmail.objects.filter(pk__in=ids)
        claimed.update(status=Status.SENDING, lease_until=lease, attempts=F("attempts") + 1)
        held = {row.pk: row for row in OutboundEmail.objects.filter(pk__in=ids).defer("updated_at")}
    return [held[pk] for pk in ids if pk in held], lease


def _claim_returning(queryset, limit, lease):
    """The claim as one statement: lock the next due rows that no one else holds, mark them sent
    out under `lease`, and return them. One round trip, committed at once (no transaction is held
    open while the chunk is sent)."""
    quote = connection.ops.quote_name
    select, params = queryset.values("pk")[:limit].query.sql_with_params()
    fields = [field for field in OutboundEmail._meta.concrete_fields if field.name != "updated_at"]
    returning = ", ".join(quote(field.column) for field in fields)
    table, status, lease_column, attempts = (
        quote(name)
        for name in (
            OutboundEmail._meta.db_table,
            OutboundEmail._meta.get_field("status").column,
            OutboundEmail._meta.get_field("lease_until").column,
            OutboundEmail._meta.get_field("attempts").column,
        )
    )
    pk = quote(OutboundEmail._meta.pk.column)
    # Every name comes from the model and every value is a parameter.
    sql = (
        f"UPDATE {table} SET {status} = %s, {lease_column} = %s, {attempts} = {attempts} + 1 "  # noqa: S608
        f"WHERE {pk} IN ({select} FOR UPDATE SKIP LOCKED) RETURNING {returning}"
    )
    return list(OutboundEmail.objects.raw(sql, [Status.SENDING, lease, *params]))


@contextmanager
def _commits_without_waiting_for_disk():
    """While a drain runs, its claims and outcomes do not wait for the WAL flush: a killed worker
    loses nothing the server has, and a crash of PostgreSQL itself re-sends at most its last
    fraction of a second of mail (the README's duplicate window). Set for the session and reset
    after, so each claim and each group of outcomes is one autocommitted statement."""
    if connection.vendor != "postgresql":  # SQLite (`make run`, a small project) has no such switch
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO OFF")
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("RESET synchronous_commit")
        except DatabaseError:  # a broken connection is discarded, its settings with it
            logger.info("outbox: could not reset synchronous_commit; the connection is closed")
            connection.close()


def _due(category, now):
    return OutboundEmail.objects.filter(status=Status.QUEUED, category=category, next_attempt_at__lte=now).order_by(
        "next_attempt_at", "pk"
    )


def claim_due(category, *, limit=None, now=None):
    """The next chunk of due rows of `category`, oldest due first."""
    now = now or timezone.now()
    return _claim(_due(category, now), limit or settings.NOTIFICATIONS_CHUNK_SIZE, now)


def urgent_waiting(now=None):
    return _due(Category.URGENT, now or timezone.now()).exists()


def deliver_due(category, *, budget=None, alias=None):
    """Deliver due rows of `category` until none is left or `budget` seconds have passed.
    A bulk drain serves urgent rows first, at every chunk and between its groups. Returns the
    number of rows handled."""
    budget = settings.NOTIFICATIONS_DRAIN_BUDGET if budget is None else budget
    with _commits_without_waiting_for_disk():
        return _drain(category, time.monotonic() + budget, alias)


def _drain(category, deadline, alias):
    handled = 0
    while True:
        rows, lease = [], None
        if category == Category.BULK:
            rows, lease = claim_due(Category.URGENT)
        if not rows:
            rows, lease = claim_due(category)
        if not rows:
            _locked_check(category)
            return handled
        if len(rows) == settings.NOTIFICATIONS_CHUNK_SIZE:
            doorbell.ring(category, settings.NOTIFICATIONS_DRAIN_FAN_OUT)  # more may be due: idle threads help
        between = _serve_urgent if category == Category.BULK and rows[0].category == Category.BULK else None
        results = _deliver_rows(rows, lease, alias, between=between)
        handled += len(results)
        if DEFERRED in results.values():
            return handled  # over the send rate: the deferred rows have their own wake-up
        if time.monotonic() > deadline:
            doorbell.ring(category)  # a successor goes on where this task stops
            return handled


def _serve_urgent():
    """Between two groups of a bulk chunk: a code or a link that became due goes out now."""
    while urgent_waiting():
        rows, lease = claim_due(Category.URGENT)
        if not rows:
            return
        _deliver_rows(rows, lease, None)


def _locked_check(category):
    """Due rows that the claim skipped are locked by someone else's transaction (an UPDATE in
    flight; a claimed row is no longer queued). They get another try shortly, not the sweeper's."""
    if _due(category, timezone.now()).exists():
        logger.info("outbox: due %s email(s) were locked at claim time; trying again in 1s", category)
        doorbell.ring_later(category, 1)


def deliver_one(pk, *, alias=None):
    """Deliver row `pk` if it is due. Returns its status afterwards, None if not ours to send, or
    DEFERRED when the send rate put it back in the queue. `alias` sends through that MAILERS alias
    only; by default the failover chain is used."""
    return deliver_many([pk], alias=alias).get(pk)


def deliver_many(pks, *, alias=None):
    """Deliver the due rows among `pks` (tests, and tasks published before the doorbell).
    Returns {pk: status}."""
    pks = list(pks)
    if not pks:  # `pk__in=[]` cannot be compiled into the claim's one statement
        return {}
    now = timezone.now()
    due = OutboundEmail.objects.filter(pk__in=pks, status=Status.QUEUED, next_attempt_at__lte=now).order_by("pk")
    with _commits_without_waiting_for_disk():
        rows, lease = _claim(due, len(pks), now)
        if not rows:
            return {}
        order = {pk: n for n, pk in enumerate(pks)}
        rows.sort(key=lambda row: order[row.pk])
        return _deliver_rows(rows, lease, alias)


def _deliver_rows(rows, lease, alias, between=None):
    """Send claimed rows in order over this thread's connection. Returns {pk: status}."""
    blocked = suppression_active([address for _name, address in email.utils.getaddresses([r.recipients for r in rows])])
    outcomes = Outcomes(lease)
    renew_at = time.monotonic() + settings.NOTIFICATIONS_SEND_LEASE / 3
    results = {}
    next_between = time.monotonic() + URGENT_CHECK
    try:
        for index, row in enumerate(rows):
            if time.monotonic() > renew_at:
                outcomes.lease_renew(rows[index:], _new_lease(timezone.now()))
                renew_at = time.monotonic() + settings.NOTIFICATIONS_SEND_LEASE / 3
            results[row.pk] = _deliver_row(row, alias, blocked, outcomes, rest=rows[index + 1 :])
            if results[row.pk] == DEFERRED:
                break  # the rest of the chunk went back to the queue with it
            if outcomes.due():
                outcomes.flush()
            if between and time.monotonic() >= next_between:
                between()
                next_between = time.monotonic() + URGENT_CHECK
    finally:
        outcomes.flush()
    doorbell.retries_ring([row for row in rows if results.get(row.pk) == Status.QUEUED])
    return results


def _payload(row):
    if row.payload_encrypted:
        try:
            return json.loads(crypto.decrypt(row.payload_encrypted))
        except ValueError as error:  # no configured key opens it: retrying cannot help
            raise Permanent(str(error)) from None
    return row.payload


def _deliver_row(row, alias, blocked, outcomes, rest):
    alias = alias or failover.transport_for(row)
    mime = None
    try:
        payload = _payload(row)
        message, suppressed = message_without_suppressed(from_payload(payload), blocked=blocked)
        if message is None:
            return _suppressed(row, suppressed, outcomes)
        message.outbox_id = row.pk  # for a transport that names the row (the dev console's mailbox link)
        wait = throttle.token_wait(alias, urgent=row.category == Category.URGENT)
        if wait:
            return _deferred(row, wait, rest, outcomes)
        mime = mime_load(row.mime)
        mime, refused = transport_send(alias, message, mime)
    except Exception as error:
        transport_reset(alias)
        return _failed(row, error, alias, outcomes, mime=mime)
    return _sent(row, payload, message, alias, outcomes, suppressed, refused)


def _sent(row, payload, message, alias, outcomes, suppressed, refused):
    status = getattr(message, "anymail_status", None)
    message_id = (getattr(status, "message_id", None) or "")[:255] if status else ""
    notes = [_suppressed_note(suppressed)] if suppressed else []
    notes += [f"refused by the server: {address} ({reply})" for address, reply in refused.items()]
    values = {"sent_at": timezone.now(), "provider": alias, "provider_message_id": message_id, "mime": ""}
    if refused:
        values["refused_recipients"] = refused
    if row.sensitive and not settings.NOTIFICATIONS_KEEP_SENSITIVE:
        secrets = payload.pop("redact", [])
        values.update(payload=redact(payload, secrets), payload_encrypted="", redacted=True)
    outcomes.add(row, Status.SENT, last_error="; ".join(notes), **values)
    metrics.delivery_sent(row, alias, message_id)
    return Status.SENT


def _suppressed_note(suppressed):
    return "; ".join(f"not sent to {address}: suppressed ({row.reason})" for address, row in suppressed.items())


def _suppressed(row, suppressed, outcomes):
    """Every recipient is suppressed: the provider never sees the message."""
    logger.info("outbox: email %s not sent, recipients suppressed", row.pk)
    metrics.delivery_suppressed(row, failover.transport_for(row))
    outcomes.add(row, Status.SUPPRESSED, last_error=_suppressed_note(suppressed), attempts=-1)
    return Status.SUPPRESSED


def _deferred(row, wait, rest, outcomes):
    """Over the provider-wide send rate: this row and the rest of its chunk go back to the queue
    for `wait` seconds, without counting an attempt, with one wake-up for them."""
    when = timezone.now() + timedelta(seconds=wait)
    for other in [row, *rest]:
        outcomes.add(other, Status.QUEUED, last_error=other.last_error, attempts=-1, next_attempt_at=when)
    outcomes.flush()
    doorbell.ring_later(row.category, wait)
    return DEFERRED


def _failed(row, error, alias, outcomes, mime=None):
    detail = f"{type(error).__name__}: {error}"
    if providers.is_throttled(error):
        throttle.bucket_slow(alias)
    permanent = is_permanent(error)
    next_alias = None if permanent else failover.transport_next(row, alias, error)
    if next_alias:
        logger.warning("outbox: email %s moves from %s to %s: %s", row.pk, alias, next_alias, detail)
        outcomes.add(
            row,
            Status.QUEUED,
            last_error=detail,
            provider=next_alias,
            provider_since_attempt=row.attempts,
            next_attempt_at=timezone.now(),
        )
        row.retry_in = 0
        metrics.delivery_failover(row, alias, next_alias)
        return Status.QUEUED
    if permanent or failover.exhausted(row):
        if not permanent:
            detail = f"gave up after {row.attempts} attempts: {detail}"
        logger.warning("outbox: email %s failed for good: %s", row.pk, detail)
        outcomes.add(row, Status.FAILED, last_error=detail, mime="")
        metrics.delivery_failed(row, alias, final=True)
        return Status.FAILED
    delay = retry_delay(row.attempts)
    logger.info("outbox: email %s attempt %d failed (%s); retrying in %.1fs", row.pk, row.attempts, detail, delay)
    values = {"next_attempt_at": timezone.now() + timedelta(seconds=delay)}
    if mime and not row.mime:
        values["mime"] = mime_store(mime, sensitive=row.sensitive)  # the retry sends these same bytes
    outcomes.add(row, Status.QUEUED, last_error=detail, **values)
    row.retry_in = delay
    metrics.delivery_failed(row, alias, final=False)
    return Status.QUEUED

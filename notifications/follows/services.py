"""Follows, and the follower alerts they cause, coalesced so that nobody is spammed.

How an alert is decided, and why it holds with many web processes and workers at once
-----------------------------------------------------------------------------------------
- `follow_create` writes the Follow row and a pending FollowerAlertItem (recipient, follower) in the
  caller's transaction. After commit it enqueues `follower_alerts_process(recipient)` on the
  `email-bulk` queue, unless the recipient's digest is already scheduled for a window that is still
  open (that digest will pick the item up; see `_digest_covers`).
- Every decision to send is taken by `follower_alerts_process` while it holds the recipient's
  FollowerAlertState row locked with SELECT ... FOR UPDATE. Only one worker at a time decides for a
  recipient, so two workers closing the same window cannot both send: the first marks the pending
  items and opens a new window, the second finds the window open and nothing pending.
- Sending marks the pending items with one UPDATE (alerted_at, batch = the recipient's alert number)
  and builds the email from that batch: a count plus a handful of names, a bounded number of queries
  whatever the number of followers. An item committed after the UPDATE stays pending for the next
  alert; an item is never lost and never in two alerts.
- Window: when no alert went out in the last NOTIFICATIONS_FOLLOW_WINDOW seconds, pending follows
  go out at once and a window opens. Inside a window, the first pending follow schedules one digest
  task (eta = window end, flag `digest_scheduled`); at the window end that task sends them all.
- `follower_alerts_sweep` (beat, every minute) re-enqueues recipients whose pending items have waited
  too long without a scheduled digest (a broker outage, a worker killed holding an eta task).
  Processing is idempotent, so a duplicate task costs a lock and nothing else.
- An unfollow deletes the pending item in the same transaction as the Follow row, so the follower
  drops out of an alert not yet sent; an alert left with nobody is not sent. An alerted item is kept
  for NOTIFICATIONS_FOLLOW_REALERT_AFTER, so follow, unfollow, follow again stays one alert.
- Unconfirmed, inactive or opted-out recipients get no item, and at send time their pending items
  are dropped.
"""

import logging
from datetime import timedelta

from celery import current_app
from django.contrib.auth import get_user_model
from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from ..conf import settings
from ..errors import NotificationsError
from ..models import Follow, FollowerAlertItem, FollowerAlertState, NotificationPreference, OutboundEmail
from ..services import email_send
from ..users import user_info

logger = logging.getLogger(__name__)

# Clocks of web processes and workers differ a little; an eta task may fire a moment early.
CLOCK_SKEW = timedelta(seconds=2)
UNSUBSCRIBE_SALT = "notifications.unsubscribe"


class FollowError(NotificationsError, ValueError):
    """A follow the rules refuse; the message is for the person who tried."""


# ------------------------------------------------------------------------------------------------
# Follows
# ------------------------------------------------------------------------------------------------
def follow_create(*, follower, followed):
    """Make `follower` follow `followed`. Returns (follow, created); following twice is a no-op."""
    if follower.pk == followed.pk:
        raise FollowError(_("You cannot follow yourself."))
    if not _may_follow(follower):
        raise FollowError(_("Confirm your email address before following people."))
    if not followed.is_active:
        raise FollowError(_("This account is not active."))
    now = timezone.now()
    with transaction.atomic():
        try:
            with transaction.atomic():
                follow = Follow.objects.create(follower=follower, followed=followed, created_at=now)
        except IntegrityError:
            return Follow.objects.get(follower=follower, followed=followed), False
        _items_record(recipient=followed, follower_ids=[follower.pk], now=now)
    return follow, True


def follow_create_many(*, followers, followed, chunk=1000):
    """Make each of `followers` follow `followed` at once (imports, benchmarks): the same rules and
    alerts as follow_create, in a few queries per `chunk` followers. Refused followers and existing
    pairs are skipped. Returns the number of new follows."""
    if not followed.is_active:
        raise FollowError(_("This account is not active."))
    ids = list(dict.fromkeys(user.pk for user in followers if user.pk != followed.pk and _may_follow(user)))
    now = timezone.now()
    created = 0
    with transaction.atomic():
        for start in range(0, len(ids), chunk):
            part = ids[start : start + chunk]
            existing = set(
                Follow.objects.filter(followed=followed, follower_id__in=part).values_list("follower_id", flat=True)
            )
            new = [pk for pk in part if pk not in existing]
            Follow.objects.bulk_create(
                [Follow(follower_id=pk, followed=followed, created_at=now) for pk in new], ignore_conflicts=True
            )
            _items_record(recipient=followed, follower_ids=new, now=now)
            created += len(new)
    return created


def follow_delete(*, follower, followed):
    """Stop `follower` following `followed`, and drop them from an alert not sent yet."""
    with transaction.atomic():
        deleted, _count = Follow.objects.filter(follower=follower, followed=followed).delete()
        FollowerAlertItem.objects.filter(recipient=followed, follower=follower, alerted_at__isnull=True).delete()
    return bool(deleted)


def _may_follow(user):
    return user.is_active and user_info(user).email_confirmed


def _items_record(*, recipient, follower_ids, now):
    """Pending alert items for these new follows, and a look by a worker once they commit. A pair
    alerted within the re-alert period keeps its alerted item, so it is not announced again."""
    if not follower_ids or not alerts_wanted(user=recipient):
        return
    FollowerAlertItem.objects.bulk_create(
        [FollowerAlertItem(recipient=recipient, follower_id=pk, followed_at=now) for pk in follower_ids],
        ignore_conflicts=True,
    )
    stale = now - timedelta(seconds=settings.NOTIFICATIONS_FOLLOW_REALERT_AFTER)
    FollowerAlertItem.objects.filter(recipient=recipient, follower_id__in=follower_ids, alerted_at__lt=stale).update(
        followed_at=now, alerted_at=None, batch=None
    )
    recipient_id = recipient.pk
    transaction.on_commit(lambda: follower_alerts_schedule(recipient_id=recipient_id), robust=True)


# ------------------------------------------------------------------------------------------------
# Preferences and eligibility
# ------------------------------------------------------------------------------------------------
def notification_preference_get(*, user):
    """The user's settings; an unsaved default row if they never changed anything."""
    try:
        return NotificationPreference.objects.get(user=user)
    except NotificationPreference.DoesNotExist:
        return NotificationPreference(user=user)


def notification_preference_set(*, user, follower_emails):
    preference, _created = NotificationPreference.objects.update_or_create(
        user=user, defaults={"follower_emails": bool(follower_emails)}
    )
    if not follower_emails:
        FollowerAlertItem.objects.filter(recipient=user, alerted_at__isnull=True).delete()
    return preference


def alerts_wanted(*, user):
    """True if `user` may get follower emails: active, confirmed address, not opted out."""
    if not user.is_active or not user.email or not user_info(user).email_confirmed:
        return False
    return not NotificationPreference.objects.filter(user=user, follower_emails=False).exists()


# ------------------------------------------------------------------------------------------------
# Unsubscribe tokens: the signed token is the credential (no log-in in a mail client)
# ------------------------------------------------------------------------------------------------
def unsubscribe_token_make(*, user):
    return signing.dumps({"u": user.pk, "k": "follower_emails"}, salt=UNSUBSCRIBE_SALT, compress=True)


def unsubscribe_token_user(*, token):
    """The user the token was made for, or None for a tampered or foreign token (or a deleted user)."""
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("k") != "follower_emails" or not isinstance(data.get("u"), int):
        return None
    return get_user_model().objects.filter(pk=data["u"]).first()


# ------------------------------------------------------------------------------------------------
# Scheduling and sending
# ------------------------------------------------------------------------------------------------
def follower_alerts_schedule(*, recipient_id):
    """Called after a follow commits: get a worker to look at the recipient's pending follows."""
    state = FollowerAlertState.objects.filter(recipient_id=recipient_id).first()
    if state is not None and _digest_covers(state, timezone.now()):
        return False
    _enqueue(recipient_id)
    return True


def _digest_covers(state, now):
    # A digest due well after now will run after this follow's commit, so it sees the item.
    return state.digest_scheduled and state.window_until is not None and state.window_until > now + CLOCK_SKEW


def _enqueue(recipient_id, eta=None):
    # By name, so follows never import tasks.py; a signature still honours task_always_eager.
    task = current_app.signature("notifications.tasks.follower_alerts_process", args=[recipient_id])
    try:
        task.apply_async(queue="email-bulk", eta=eta)
    except Exception as error:  # broker down: the sweeper finds the pending items
        logger.warning("follower alerts: could not enqueue recipient %s: %s", recipient_id, error)


def follower_alerts_process(*, recipient_id):
    """Send the recipient's pending follows now, or make sure a digest is scheduled for the end of
    the open window. Returns the email message sent, or None. Safe to run any number of times."""
    try:
        FollowerAlertState.objects.bulk_create([FollowerAlertState(recipient_id=recipient_id)], ignore_conflicts=True)
    except IntegrityError:  # no such user (deleted since the task was queued)
        return None
    with transaction.atomic():
        state = (
            FollowerAlertState.objects.select_for_update(of=("self",))
            .select_related("recipient")
            .filter(recipient_id=recipient_id)
            .first()
        )
        if state is None:  # the user was deleted meanwhile
            return None
        now = timezone.now()
        pending = FollowerAlertItem.objects.filter(recipient_id=recipient_id, alerted_at__isnull=True)
        if state.window_until and now + CLOCK_SKEW < state.window_until:
            if not state.digest_scheduled and pending.exists():
                state.digest_scheduled = True
                state.save(update_fields=["digest_scheduled"])
                eta = state.window_until
                transaction.on_commit(lambda: _enqueue(recipient_id, eta=eta), robust=True)
            return None
        state.digest_scheduled = False
        email = _send_pending(state, pending, now)
        if email is not None:
            state.window_until = now + timedelta(seconds=settings.NOTIFICATIONS_FOLLOW_WINDOW)
            state.last_sent_at = now
        state.save(update_fields=["digest_scheduled", "window_until", "last_sent_at", "alerts_sent"])
        return email


def _send_pending(state, pending, now):
    recipient = state.recipient
    if not alerts_wanted(user=recipient):
        pending.delete()
        return None
    # A Follow removed other than through follow_delete (the admin, a script) is not announced,
    # and neither is a follower whose account was deactivated since.
    still_follows = Exists(Follow.objects.filter(follower=OuterRef("follower"), followed=recipient))
    pending.filter(~still_follows | Q(follower__is_active=False)).delete()
    batch = state.alerts_sent + 1
    count = pending.update(alerted_at=now, batch=batch)
    if not count:
        return None
    state.alerts_sent = batch
    # "a, b, c and 1 other" says less than "a, b, c and d": one name more than the limit is shown.
    limit = settings.NOTIFICATIONS_FOLLOW_DIGEST_NAMES
    shown = count if count <= limit + 1 else limit
    named = list(
        FollowerAlertItem.objects.filter(recipient=recipient, batch=batch)
        .select_related("follower")
        .order_by("followed_at", "pk")[:shown]
    )
    return _email(recipient=recipient, followers=[item.follower for item in named], count=count, batch=batch)


def _email(*, recipient, followers, count, batch):
    site = settings.SITE_URL
    unsubscribe_url = site + reverse("notifications:unsubscribe", args=[unsubscribe_token_make(user=recipient)])
    people = [_person(user) for user in followers]
    context = {
        "recipient": recipient,
        "followers": people,
        "names": [person["name"] for person in people],
        "count": count,
        "others": count - len(followers),
        "followers_url": site + reverse("notifications:followers", args=[recipient.username]),
        "settings_url": site + reverse("notifications:settings"),
        "unsubscribe_url": unsubscribe_url,
    }
    return email_send(
        template="follower_alert" if count == 1 else "follower_digest",
        to=recipient.email,
        context=context,
        language=user_info(recipient).language,
        category=OutboundEmail.Category.BULK,
        headers={"List-Unsubscribe": f"<{unsubscribe_url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
        # The recipient's batch number is the event: a retried task sends its alert once.
        idempotency_key=f"notifications:follower-alert:{recipient.pk}:{batch}",
    )


def _person(user):
    full_name = user.get_full_name() if hasattr(user, "get_full_name") else ""
    return {
        "username": user.username,
        "name": full_name or user.username,
        "url": settings.SITE_URL + reverse("notifications:profile", args=[user.username]),
    }


def follower_alerts_sweep(*, now=None, limit=1000):
    """Enqueue recipients whose pending follows wait with no digest scheduled. Returns how many."""
    now = now or timezone.now()
    waited = now - timedelta(seconds=settings.NOTIFICATIONS_FOLLOW_SWEEP_AFTER)
    covered = FollowerAlertState.objects.filter(digest_scheduled=True, window_until__gt=waited).values("recipient_id")
    ids = list(
        FollowerAlertItem.objects.filter(alerted_at__isnull=True, followed_at__lte=waited)
        .exclude(recipient_id__in=covered)
        .values_list("recipient_id", flat=True)
        .distinct()[:limit]
    )
    for recipient_id in ids:
        _enqueue(recipient_id)
    if ids:
        logger.info("follower alerts sweep: enqueued %d recipient(s)", len(ids))
    return len(ids)


def follower_alert_items_prune(*, now=None):
    """Forget alerted pairs older than the re-alert period. Returns how many rows went."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.NOTIFICATIONS_FOLLOW_REALERT_AFTER)
    deleted, _count = FollowerAlertItem.objects.filter(alerted_at__lt=stale).delete()
    return deleted

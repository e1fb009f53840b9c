"""/api/v1/...: follows, profiles, notification settings and the one-click unsubscribe, as JSON.

`public` needs no log-in. `member` endpoints act as the logged-in person: the project mounts them
with its clients' authentication (request.auth is the user) under /{client}/. Errors raise
ninja's HttpError and Http404, and follows over their limit raise follows.limits.FollowLimited, which
the project's API answers as problem details (a 429 with Retry-After).

It needs django-ninja, the `api` extra; the rest of the app does not.
"""

from typing import Literal

from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.http import Http404
from django.utils.translation import gettext as _

try:
    from ninja import Field, Path, Query, Router, Schema
    from ninja.errors import HttpError
except ImportError as error:
    raise ImportError(
        "notifications.api needs django-ninja, which is not installed: pip install 'mailsite-apps[api]'", name="ninja"
    ) from error

from .follows import services as follows
from .follows.limits import follow_limit_consume
from .models import Follow
from .users import user_info, users_confirmed

PAGE_SIZE = 50
Username = Path(..., pattern=r"^[A-Za-z0-9_.]{1,150}$", max_length=150)
ClientKind = Literal["browser", "app"]

public = Router(tags=["follows"])
member = Router(tags=["follows"])


class PersonOut(Schema):
    username: str


class ProfileOut(Schema):
    username: str
    follower_count: int
    following_count: int
    is_self: bool | None = Field(default=None, description="Only when asked by a logged-in client.")
    is_following: bool | None = None


class PeopleOut(Schema):
    count: int
    page: int
    pages: int
    results: list[PersonOut]


class FollowOut(Schema):
    following: bool
    changed: bool


class SettingsIn(Schema):
    follower_emails: bool


class SettingsOut(Schema):
    follower_emails: bool
    email_confirmed: bool


class TokenIn(Schema):
    token: str = Field(..., max_length=1024)


class UnsubscribeOut(Schema):
    username: str
    follower_emails: bool


def _people():
    # As on the pages: an unconfirmed account may be a squatter's, so it is not shown or followed.
    return users_confirmed(get_user_model()._default_manager.filter(is_active=True))


def _person(username, *, viewer=None):
    users = get_user_model()._default_manager
    try:
        person = users.get_by_natural_key(username)
    except users.model.DoesNotExist:
        raise Http404() from None
    is_self = viewer is not None and viewer.pk == person.pk
    if not person.is_active or not (is_self or user_info(person).email_confirmed):
        raise Http404()
    return person


def _people_page(queryset, page):
    found = Paginator(queryset, PAGE_SIZE).get_page(page)
    return {
        "count": found.paginator.count,
        "page": found.number,
        "pages": found.paginator.num_pages,
        "results": [{"username": person.username} for person in found],
    }


# ------------------------------------------------------------------------------------------------
# Public
# ------------------------------------------------------------------------------------------------
@public.get("/users/{username}", response=ProfileOut, summary="A profile")
def profile(request, username: str = Username):
    return _profile(_person(username))


def _profile(person):
    return {
        "username": person.username,
        "follower_count": Follow.objects.filter(followed=person, follower__is_active=True).count(),
        "following_count": Follow.objects.filter(follower=person, followed__is_active=True).count(),
    }


@public.get("/users/{username}/followers", response=PeopleOut, summary="Who follows someone")
def followers(request, username: str = Username, page: int = Query(1, ge=1, le=1_000_000)):
    person = _person(username)
    people = _people().filter(follows_out__followed=person).order_by("-follows_out__created_at", "-pk")
    return _people_page(people, page)


@public.get("/users/{username}/following", response=PeopleOut, summary="Whom someone follows")
def following(request, username: str = Username, page: int = Query(1, ge=1, le=1_000_000)):
    person = _person(username)
    people = _people().filter(follows_in__follower=person).order_by("-follows_in__created_at", "-pk")
    return _people_page(people, page)


@public.get("/notifications/unsubscribe", response=UnsubscribeOut, summary="Whose emails an unsubscribe token stops")
def unsubscribe_get(request, token: str = Query(..., max_length=1024)):
    person = _unsubscribe_user(token)
    return {"username": person.username, "follower_emails": follows.alerts_wanted(user=person)}


@public.post("/notifications/unsubscribe", response=UnsubscribeOut, summary="One-click unsubscribe")
def unsubscribe(request, body: TokenIn):
    """The signed token from an email's unsubscribe link is the credential: no log-in, no cookie,
    no CSRF token, and all it can do is turn follower emails off."""
    person = _unsubscribe_user(body.token)
    follows.notification_preference_set(user=person, follower_emails=False)
    return {"username": person.username, "follower_emails": False}


def _unsubscribe_user(token):
    person = follows.unsubscribe_token_user(token=token)
    if person is None:
        raise HttpError(400, _("This unsubscribe link is not valid."))
    return person


# ------------------------------------------------------------------------------------------------
# Logged in
# ------------------------------------------------------------------------------------------------
@member.get("/{client}/users/{username}", response=ProfileOut, summary="A profile, as I see it")
def profile_mine(request, client: ClientKind, username: str = Username):
    person = _person(username, viewer=request.auth)
    return {
        **_profile(person),
        "is_self": request.auth.pk == person.pk,
        "is_following": Follow.objects.filter(follower=request.auth, followed=person).exists(),
    }


@member.post("/{client}/users/{username}/follow", response=FollowOut, summary="Follow someone")
def follow(request, client: ClientKind, username: str = Username):
    person = _person(username)
    if not user_info(request.auth).email_confirmed:
        raise HttpError(403, _("Confirm your email address before following people."))
    follow_limit_consume(user=request.auth)
    try:
        _follow, created = follows.follow_create(follower=request.auth, followed=person)
    except follows.FollowError as error:
        raise HttpError(400, str(error)) from None
    return {"following": True, "changed": created}


@member.delete("/{client}/users/{username}/follow", response=FollowOut, summary="Unfollow someone")
def unfollow(request, client: ClientKind, username: str = Username):
    person = _person(username)
    follow_limit_consume(user=request.auth)
    return {"following": False, "changed": follows.follow_delete(follower=request.auth, followed=person)}


@member.get("/{client}/notifications/settings", response=SettingsOut, summary="My notification settings")
def settings_get(request, client: ClientKind):
    preference = follows.notification_preference_get(user=request.auth)
    return {"follower_emails": preference.follower_emails, "email_confirmed": user_info(request.auth).email_confirmed}


@member.put("/{client}/notifications/settings", response=SettingsOut, summary="Change my notification settings")
def settings_put(request, client: ClientKind, body: SettingsIn):
    preference = follows.notification_preference_set(user=request.auth, follower_emails=body.follower_emails)
    return {"follower_emails": preference.follower_emails, "email_confirmed": user_info(request.auth).email_confirmed}

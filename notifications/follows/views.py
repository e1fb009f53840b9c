"""Pages of the social side: people, profiles, follows, notification settings, unsubscribe.

Views look things up and hand off to notifications.follows, where the rules live.
"""

from functools import wraps

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from ..models import Follow
from ..users import user_info, users_confirmed
from . import services as follows
from .limits import FollowLimited, follow_limit_consume

PAGE_SIZE = 50


def _people():
    """Who the people pages list: active accounts with a confirmed address (an unconfirmed one may
    be a squatter's, and will be deleted if it stays so)."""
    return users_confirmed(get_user_model().objects.filter(is_active=True))


def _person_or_404(username, *, viewer=None):
    # The user model's natural key is its own normal form of a username, matched exactly (an
    # `iexact` lookup would let PostgreSQL's case rules make "adı" find "adi").
    users = get_user_model()._default_manager
    try:
        person = users.get_by_natural_key(username)
    except users.model.DoesNotExist:
        raise Http404() from None
    is_self = viewer is not None and viewer.is_authenticated and viewer.pk == person.pk
    if not person.is_active or not (is_self or user_info(person).email_confirmed):
        raise Http404()
    return person


def _page(request, queryset):
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def user_list(request):
    query = request.GET.get("q", "").strip()[:30]
    people = (
        _people()
        .annotate(follower_count=Count("follows_in", filter=Q(follows_in__follower__is_active=True)))
        .order_by("username")
    )
    if query:
        people = people.filter(username__icontains=query)
    return render(request, "notifications/user_list.html", {"page": _page(request, people), "query": query})


def profile(request, username):
    person = _person_or_404(username, viewer=request.user)
    context = {
        "person": person,
        "follower_count": Follow.objects.filter(followed=person, follower__is_active=True).count(),
        "following_count": Follow.objects.filter(follower=person, followed__is_active=True).count(),
        "is_self": request.user.is_authenticated and request.user.pk == person.pk,
        "is_following": request.user.is_authenticated
        and Follow.objects.filter(follower=request.user, followed=person).exists(),
    }
    return render(request, "notifications/profile.html", context)


def followers(request, username):
    person = _person_or_404(username)
    people = _people().filter(follows_out__followed=person).order_by("-follows_out__created_at", "-pk")
    return _people_page(request, person, people, _("Followers of %(name)s"), _("Nobody follows %(name)s yet."))


def following(request, username):
    person = _person_or_404(username)
    people = _people().filter(follows_in__follower=person).order_by("-follows_in__created_at", "-pk")
    return _people_page(request, person, people, _("%(name)s follows"), _("%(name)s follows nobody yet."))


def _people_page(request, person, people, title, empty):
    context = {
        "person": person,
        "page": _page(request, people),
        "title": title % {"name": person.username},
        "empty": empty % {"name": person.username},
    }
    return render(request, "notifications/people.html", context)


def _follow_action(view):
    """POST only, an existing person (404), logged in (else log-in, back to the profile), a
    confirmed address, and within the follow rate limit (else a 429 page with Retry-After); then
    run `view` and go back to the profile."""

    @require_POST
    @wraps(view)
    def wrapper(request, username):
        person = _person_or_404(username)
        profile_url = reverse("notifications:profile", args=[person.username])
        if not request.user.is_authenticated:
            return redirect_to_login(profile_url)
        if not user_info(request.user).email_confirmed:
            messages.error(request, _("Confirm your email address before following people."))
            return redirect(profile_url)
        try:
            follow_limit_consume(user=request.user)
        except FollowLimited as error:
            return _limited(request, person, error)
        view(request, person)
        return redirect(profile_url)

    return wrapper


def _limited(request, person, error):
    context = {"person": person, "message": error.message}
    response = render(request, "notifications/follow_limited.html", context, status=429)
    response["Retry-After"] = str(error.retry_after)
    return response


@_follow_action
def follow(request, person):
    try:
        _follow, created = follows.follow_create(follower=request.user, followed=person)
    except follows.FollowError as error:
        messages.error(request, str(error))
        return
    if created:
        messages.success(request, _("You are now following %(name)s.") % {"name": person.username})
    else:
        messages.info(request, _("You already follow %(name)s.") % {"name": person.username})


@_follow_action
def unfollow(request, person):
    if follows.follow_delete(follower=request.user, followed=person):
        messages.success(request, _("You no longer follow %(name)s.") % {"name": person.username})
    else:
        messages.info(request, _("You were not following %(name)s.") % {"name": person.username})


class NotificationSettingsForm(forms.Form):
    follower_emails = forms.BooleanField(
        label=gettext_lazy("Email me when someone follows me"),
        required=False,
        help_text=gettext_lazy("When many people follow you at once, they come together in one email."),
    )


@login_required
def notification_settings(request):
    preference = follows.notification_preference_get(user=request.user)
    if request.method == "POST":
        form = NotificationSettingsForm(request.POST)
        if form.is_valid():
            follows.notification_preference_set(user=request.user, **form.cleaned_data)
            messages.success(request, _("Your notification settings were saved."))
            return redirect("notifications:settings")
    else:
        form = NotificationSettingsForm(initial={"follower_emails": preference.follower_emails})
    context = {"form": form, "confirmed": user_info(request.user).email_confirmed}
    return render(request, "notifications/settings.html", context)


# Mail clients send the RFC 8058 one-click POST with no cookie and no CSRF token: the signed token
# in the URL is the credential here, and all it can do is turn emails off.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token):
    person = follows.unsubscribe_token_user(token=token)
    if person is None:
        return render(request, "notifications/unsubscribe_invalid.html", status=400)
    if request.method == "POST":
        follows.notification_preference_set(user=person, follower_emails=False)
    template = "notifications/unsubscribe_done.html" if request.method == "POST" else "notifications/unsubscribe.html"
    # In the language of the email the link came in, not the browser's: a mail client's one-click
    # POST has no Accept-Language worth the name, and the page continues the email.
    language = user_info(person).language
    with translation.override(language):
        response = render(request, template, {"person": person})
    response["Content-Language"] = language
    return response

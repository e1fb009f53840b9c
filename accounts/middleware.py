"""Keeps accounts/flows/sessions.py's rows in step with the requests of logged-in users."""

from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.dispatch import receiver
from django.shortcuts import redirect
from django.urls import NoReverseMatch, reverse

from .conf import settings
from .flows import sessions
from .flows.mfa import mfa_enabled, reauth_record
from .ratelimit import client_ip


def _user_agent(request):
    return request.headers.get("User-Agent", "")


class UserSessionMiddleware:
    """After AuthenticationMiddleware: logs out a session that was ended elsewhere ("log out other
    sessions", account deletion), notes when each session was last seen, and follows the session
    to its new key when a view cycles it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        key_before = request.session.session_key
        user = request.user
        if user.is_authenticated and key_before:
            alive = sessions.session_touch(
                user=user,
                session_key=key_before,
                ip=client_ip(request),
                user_agent=_user_agent(request),
                tracked=bool(request.session.get(sessions.TRACKED_SESSION_KEY)),
            )
            if not alive:
                logout(request)
            elif not request.session.get(sessions.TRACKED_SESSION_KEY):
                request.session[sessions.TRACKED_SESSION_KEY] = True
            if alive and _staff_needs_second_factor(request, user):
                # (before MessageMiddleware: the page says why from its query)
                return redirect(reverse("accounts:security") + "?required=admin")
        response = self.get_response(request)
        key_after = request.session.session_key
        if key_before and key_after and key_after != key_before and request.user.is_authenticated:
            sessions.session_rekey(user=request.user, old_key=key_before, new_key=key_after)
        return response


def _staff_needs_second_factor(request, user):
    """ACCOUNTS_MFA_REQUIRED_FOR_STAFF: staff without a second factor are kept out of /admin/."""
    if not (settings.ACCOUNTS_MFA_REQUIRED_FOR_STAFF and user.is_staff):
        return False
    try:
        admin_root = reverse("admin:index")
    except NoReverseMatch:
        return False
    return request.path.startswith(admin_root) and not mfa_enabled(user)


@receiver(user_logged_in, dispatch_uid="accounts.sessions.record")
def _record(sender, request, user, **kwargs):
    if request is None or not hasattr(request, "session") or not request.session.session_key:
        return
    sessions.session_record(
        user=user, session_key=request.session.session_key, ip=client_ip(request), user_agent=_user_agent(request)
    )
    request.session[sessions.TRACKED_SESSION_KEY] = True
    # A log-in proved the password or an emailed code just now: it counts as re-authentication.
    reauth_record(request, method="login", user=user)


@receiver(user_logged_out, dispatch_uid="accounts.sessions.forget")
def _forget(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session") and request.session.session_key:
        sessions.session_forget(session_key=request.session.session_key)

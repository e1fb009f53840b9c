"""Switching the site's language, which for a logged-in person is also the language of their email."""

from django.conf import settings
from django.views.i18n import set_language


def language_set(request):
    """Django's set_language (cookie, then back to `next`); a logged-in user's choice is also saved
    as User.language, the language every email to them is written in."""
    response = set_language(request)
    language = request.POST.get("language") if request.method == "POST" else None
    user = request.user
    if user.is_authenticated and language in dict(settings.LANGUAGES) and user.language != language:
        user.language = language
        user.save(update_fields=["language"])
    return response

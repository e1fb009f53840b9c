"""Django's own messages that mailsite's pages show, marked so that `make messages` keeps their
zh_Hans overrides in locale/ (which wins over Django's catalogue). Django's translation addresses
the reader as "你"; ours say "您" everywhere, so these are translated again to match. Never imported.
"""

from django.utils.translation import gettext_noop, ngettext_lazy

MESSAGES = [
    gettext_noop("Your old password was entered incorrectly. Please enter it again."),
    ngettext_lazy(
        "Your password must contain at least %(min_length)d character.",
        "Your password must contain at least %(min_length)d characters.",
        "min_length",
    ),
    gettext_noop("Your password can’t be too similar to your other personal information."),
    gettext_noop("Your password can’t be a commonly used password."),
    gettext_noop("Your password can’t be entirely numeric."),
]

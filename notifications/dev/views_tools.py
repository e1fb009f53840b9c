"""The dev mailbox's tools for testing one email, as Mailpit has them: the HTML compatibility
check, the spam score, and releasing the mail to a real server. DEBUG only, like the mailbox."""

from django import forms
from django.contrib import messages
from django.core.validators import validate_email
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..conf import settings
from ..models import OutboundEmail
from .compat import caniemail, html_compatibility
from .preview import outbound_preview
from .release import ReleaseFailed, ReleaseRefused, mailbox_release, release_allowed, release_enabled
from .spam import SpamCheckUnavailable, spam_check, spam_checker
from .views import _dev_only, _source_or_404

MAX_RECIPIENTS = 20


def mailbox_compat(request, pk):
    _dev_only()
    email = get_object_or_404(OutboundEmail, pk=pk)
    html = outbound_preview(email).html
    data = caniemail()
    context = {
        "email": email,
        "has_html": bool(html),
        "flags": html_compatibility(html) if html else [],
        "data_date": data["last_update_date"][:10],
    }
    return render(request, "notifications/mailbox_compat.html", context)


def mailbox_spam(request, pk):
    _dev_only()
    email, source = _source_or_404(pk)
    report, problem = None, ""
    if spam_checker() is None:
        problem = _("No spam score: SpamAssassin is not installed (apt-get install spamassassin).")
    else:
        try:
            report = spam_check(source)
        except SpamCheckUnavailable as error:
            problem = _("SpamAssassin could not score this email: %(error)s") % {"error": error}
    return render(request, "notifications/mailbox_spam.html", {"email": email, "report": report, "problem": problem})


class ReleaseForm(forms.Form):
    to = forms.CharField(
        label=gettext_lazy("Send to"),
        max_length=2000,
        help_text=gettext_lazy("One or more addresses, separated by commas."),
    )

    def clean_to(self):
        addresses = list(dict.fromkeys(a.strip() for a in self.cleaned_data["to"].split(",") if a.strip()))
        if not addresses:
            raise forms.ValidationError(_("Give at least one address."))
        if len(addresses) > MAX_RECIPIENTS:
            raise forms.ValidationError(_("At most %(count)d addresses.") % {"count": MAX_RECIPIENTS})
        for address in addresses:
            validate_email(address)
        outside = [address for address in addresses if not release_allowed(address)]
        if outside:
            raise forms.ValidationError(
                _("Not allowed by NOTIFICATIONS_MAILBOX_RELEASE_ALLOW: %(addresses)s.")
                % {"addresses": ", ".join(outside)}
            )
        return addresses


def mailbox_release_view(request, pk):
    _dev_only()
    email = get_object_or_404(OutboundEmail, pk=pk)
    form = ReleaseForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if not release_enabled():
            form.add_error(None, _("Release is off: set NOTIFICATIONS_MAILBOX_RELEASE_SMTP and _ALLOW."))
        elif form.is_valid():
            try:
                accepted = mailbox_release(email=email, recipients=form.cleaned_data["to"])
            except ReleaseRefused as error:
                form.add_error(None, str(error))
            except ReleaseFailed as error:
                form.add_error(None, str(error))
                status = 503
            else:
                messages.success(request, _("Released to %(addresses)s.") % {"addresses": ", ".join(accepted)})
                return redirect("notifications:mailbox-detail", pk=email.pk)
    context = {
        "email": email,
        "form": form,
        "enabled": release_enabled(),
        "server": settings.NOTIFICATIONS_MAILBOX_RELEASE_SMTP.rpartition("@")[2],  # never the password
        "allowed": settings.NOTIFICATIONS_MAILBOX_RELEASE_ALLOW,
    }
    response = render(request, "notifications/mailbox_release.html", context, status=status)
    if status == 503:
        response["Retry-After"] = "30"
    return response

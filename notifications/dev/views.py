from django.conf import settings
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.clickjacking import xframe_options_sameorigin

from ..models import OutboundEmail
from .preview import outbound_preview

# Rendered mail is shown in a sandboxed iframe; this also stops any script in it from running.
MAIL_CSP = "sandbox; default-src 'none'; img-src * data:; style-src 'unsafe-inline'"


def _dev_only():
    if not settings.DEBUG:
        raise Http404("The dev mailbox exists only when DEBUG is on.")


def mailbox_list(request):
    _dev_only()
    page = Paginator(OutboundEmail.objects.all(), 50).get_page(request.GET.get("page"))
    return render(request, "notifications/mailbox_list.html", {"page": page})


def mailbox_detail(request, pk):
    _dev_only()
    email = get_object_or_404(OutboundEmail, pk=pk)
    return render(request, "notifications/mailbox_detail.html", {"email": email, "preview": outbound_preview(email)})


def mailbox_html_response(email):
    """The email's HTML part as a page for a sandboxed iframe (the dev mailbox and the admin)."""
    response = HttpResponse(outbound_preview(email).html or "<p>(no HTML part)</p>")
    response["Content-Security-Policy"] = MAIL_CSP
    response["X-Frame-Options"] = "SAMEORIGIN"
    return response


@xframe_options_sameorigin
def mailbox_html(request, pk):
    _dev_only()
    return mailbox_html_response(get_object_or_404(OutboundEmail, pk=pk))

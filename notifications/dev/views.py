"""The dev mailbox (/dev/mailbox/): every outbound email as its recipient sees it. It exists only
while DEBUG is on; with DEBUG off every page, and every delete, is a 404."""

import hashlib

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST

from ..models import OutboundEmail
from .compat import html_compatibility
from .mailbox import (
    html_for_frame,
    link_status,
    mailbox_read_set,
    mailbox_search,
    message_codes,
    message_links,
    message_source,
    text_linked,
)
from .parts import html_highlighted, message_attachments, message_headers, message_parse
from .preview import outbound_preview
from .search import SearchInvalid
from .spam import spam_checker
from .stream import mailbox_state, mailbox_stream

# The frame's own policy, whatever the iframe says: no script, no form and no plugin ever runs, so
# the email's HTML can do nothing in the site's origin. allow-same-origin lets the mailbox page
# read the frame's height; allow-popups(-to-escape-sandbox) lets a link open a normal tab.
MAIL_CSP = (
    "sandbox allow-same-origin allow-popups allow-popups-to-escape-sandbox; default-src 'none'; "
    "img-src * data:; style-src 'unsafe-inline'; form-action 'none'"
)
PAGE_SIZE = 50


def _dev_only():
    if not settings.DEBUG:
        raise Http404("The dev mailbox exists only when DEBUG is on.")


def _rows_context(request):
    query = request.GET.get("q", "").strip()[:200]
    try:
        rows = mailbox_search(query)
    except SearchInvalid as error:
        rows, search_error = OutboundEmail.objects.none(), str(error)
    else:
        search_error = ""
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    seen = "|".join(f"{email.pk}:{email.status}:{email.read_at is not None:d}" for email in page)
    signature = hashlib.sha256(f"{page.paginator.count}|{seen}".encode()).hexdigest()[:16]
    return {"page": page, "query": query, "search_error": search_error, "signature": signature}


def mailbox_list(request):
    _dev_only()
    return render(request, "notifications/mailbox_list.html", {**_rows_context(request), "state": mailbox_state()})


def mailbox_events(request):
    """The list's live updates, as Server-Sent Events (see stream.py)."""
    _dev_only()
    response = StreamingHttpResponse(mailbox_stream(), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # a proxy in front must pass each event on at once
    return response


def mailbox_rows(request):
    """The list's rows alone: the page fetches them when the event stream says the mailbox changed."""
    _dev_only()
    return render(request, "notifications/_mailbox_rows.html", _rows_context(request))


def mailbox_detail(request, pk):
    _dev_only()
    email = mailbox_read_set(email=get_object_or_404(OutboundEmail, pk=pk))
    preview = outbound_preview(email)
    source = message_source(email)
    parsed = message_parse(source) if source is not None else None
    context = {
        "email": email,
        "preview": preview,
        "text_html": text_linked(preview.text),
        "codes": message_codes(preview),
        "links": message_links(preview),
        "all_headers": message_headers(parsed) if parsed else None,
        "attachments": message_attachments(parsed) if parsed else [],
        "html_source": html_highlighted(preview.html) if preview.html else "",
        "compat_flags": len(html_compatibility(preview.html)) if preview.html else 0,
        "spam_checker": spam_checker(),
    }
    return render(request, "notifications/mailbox_detail.html", context)


@require_POST
def mailbox_unread(request, pk):
    _dev_only()
    mailbox_read_set(email=get_object_or_404(OutboundEmail, pk=pk), read=False)
    return redirect("notifications:mailbox")


def mailbox_attachment(request, pk, index):
    """One attachment's bytes: a download, or (?inline=1, raster images only) the thumbnail."""
    _dev_only()
    _email, source = _source_or_404(pk)
    found = next((a for a in message_attachments(message_parse(source)) if a.index == index), None)
    if found is None:
        raise Http404("This email has no such attachment.")
    inline = request.GET.get("inline") == "1" and found.thumbnail
    response = HttpResponse(found.content, content_type=found.content_type)
    response["Content-Disposition"] = content_disposition_header(not inline, found.filename)
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def mailbox_html_response(email):
    """The email's HTML part as a page for the sandboxed iframe (the dev mailbox and the admin)."""
    response = HttpResponse(html_for_frame(outbound_preview(email).html or "<p>(no HTML part)</p>"))
    response["Content-Security-Policy"] = MAIL_CSP
    response["X-Frame-Options"] = "SAMEORIGIN"
    response["Referrer-Policy"] = "no-referrer"
    return response


@xframe_options_sameorigin
def mailbox_html(request, pk):
    _dev_only()
    return mailbox_html_response(get_object_or_404(OutboundEmail, pk=pk))


def _source_or_404(pk):
    email = get_object_or_404(OutboundEmail, pk=pk)
    source = message_source(email)
    if source is None:
        raise Http404("This email's content can no longer be read.")
    return email, source


def mailbox_raw(request, pk):
    _dev_only()
    email, source = _source_or_404(pk)
    text = source.decode("utf-8", errors="replace")
    return render(request, "notifications/mailbox_raw.html", {"email": email, "source": text})


def mailbox_eml(request, pk):
    _dev_only()
    email, source = _source_or_404(pk)
    response = HttpResponse(source, content_type="message/rfc822")
    response["Content-Disposition"] = f'attachment; filename="mailbox-{email.pk}.eml"'
    return response


def mailbox_links(request, pk):
    _dev_only()
    email = get_object_or_404(OutboundEmail, pk=pk)
    checked = [(url, *link_status(url)) for url in message_links(outbound_preview(email))]
    return render(request, "notifications/mailbox_links.html", {"email": email, "checked": checked})


@require_POST
def mailbox_delete(request, pk):
    _dev_only()
    deleted, _by_model = OutboundEmail.objects.filter(pk=pk).delete()
    if deleted:
        messages.success(request, _("The email was deleted."))
    return redirect("notifications:mailbox")


@require_POST
def mailbox_clear(request):
    _dev_only()
    count = OutboundEmail.objects.count()
    OutboundEmail.objects.all().delete()
    messages.success(request, _("The mailbox was cleared (%(count)d emails deleted).") % {"count": count})
    return redirect("notifications:mailbox")

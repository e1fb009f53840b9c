"""/api/v1/dev/mailbox/...: the dev mailbox as JSON, for a test or a script that reads what the site
sent (Mailpit's API, on our outbox). Like the pages it exists only while DEBUG is on: every call
is a 404 otherwise, and the project's OpenAPI document lists these operations only then."""

from datetime import datetime

from django.conf import settings
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError

from ..models import OutboundEmail
from .mailbox import mailbox_read_set, mailbox_search, message_codes, message_links, message_source
from .parts import message_attachments, message_headers, message_parse
from .preview import outbound_preview
from .search import SearchInvalid

PAGE_SIZE = 50
PATH_PREFIX = "/dev/mailbox/"

router = Router(tags=["dev mailbox"])


class MessageSummary(Schema):
    id: int
    created_at: datetime
    recipients: str
    subject: str = Field(..., description="As stored: a sensitive mail's subject is redacted.")
    status: str
    read: bool


class MessageList(Schema):
    count: int
    page: int
    pages: int
    results: list[MessageSummary]


class Header(Schema):
    name: str
    value: str


class AttachmentOut(Schema):
    index: int
    filename: str
    content_type: str
    size: int
    url: str


class MessageOut(MessageSummary):
    headers: list[Header]
    text: str
    html: str
    attachments: list[AttachmentOut]
    links: list[str]
    codes: list[str]


class ListQuery(Schema):
    q: str = Field(
        "",
        max_length=200,
        description="Words and from:, to:, subject:, is:unread, has:attachment, before:, after: terms (AND).",
    )
    page: int = Field(1, ge=1)


def _dev_only():
    if not settings.DEBUG:
        raise Http404("The dev mailbox exists only when DEBUG is on.")


def _summary(email):
    return {
        "id": email.pk,
        "created_at": email.created_at,
        "recipients": email.recipients,
        "subject": email.subject,
        "status": email.status,
        "read": email.read_at is not None,
    }


@router.get("/dev/mailbox/messages", response=MessageList, summary="The mailbox's messages, newest first")
def mailbox_messages(request, query: Query[ListQuery]):
    _dev_only()
    try:
        paginator = Paginator(mailbox_search(query.q), PAGE_SIZE)
        paginator.count  # noqa: B018  (runs the query: a bad term is a 400 here, not later)
    except SearchInvalid as error:
        raise HttpError(400, str(error)) from None
    if query.page > paginator.num_pages:
        raise Http404("There is no such page.")
    page = paginator.page(query.page)
    return {
        "count": paginator.count,
        "page": page.number,
        "pages": paginator.num_pages,
        "results": [_summary(email) for email in page],
    }


@router.get("/dev/mailbox/messages/{message_id}", response=MessageOut, summary="One message (marks it read)")
def mailbox_message(request, message_id: int):
    _dev_only()
    email = mailbox_read_set(email=get_object_or_404(OutboundEmail, pk=message_id))
    preview = outbound_preview(email)
    source = message_source(email)
    parsed = message_parse(source) if source is not None else None
    attachments = [
        {
            "index": a.index,
            "filename": a.filename,
            "content_type": a.content_type,
            "size": a.size,
            "url": reverse("notifications:mailbox-attachment", args=[email.pk, a.index]),
        }
        for a in (message_attachments(parsed) if parsed else [])
    ]
    return {
        **_summary(email),
        "headers": [{"name": n, "value": v} for n, v in (message_headers(parsed) if parsed else [])],
        "text": preview.text,
        "html": preview.html,
        "attachments": attachments,
        "links": message_links(preview),
        "codes": message_codes(preview),
    }


@router.get(
    "/dev/mailbox/messages/{message_id}/raw",
    summary="The message's RFC 5322 source",
    response={200: str},
    openapi_extra={"responses": {200: {"content": {"message/rfc822": {"schema": {"type": "string"}}}}}},
)
def mailbox_message_raw(request, message_id: int):
    _dev_only()
    source = message_source(get_object_or_404(OutboundEmail, pk=message_id))
    if source is None:
        raise Http404("This email's content can no longer be read.")
    return HttpResponse(source, content_type="message/rfc822")


@router.delete("/dev/mailbox/messages/{message_id}", response={204: None}, summary="Delete one message")
def mailbox_message_delete(request, message_id: int):
    _dev_only()
    deleted, _by_model = OutboundEmail.objects.filter(pk=message_id).delete()
    if not deleted:
        raise Http404("No such message.")
    return Status(204, None)

"""The delivery dashboard after a run that sends, bounces and fails some mail, as staff see it in
Chromium. With UPDATE_DOCS_SCREENSHOTS=1 the picture replaces docs/dashboard.png (the README's)."""

import pytest
from django.core.mail import send_mail
from playwright.sync_api import expect

from notifications.models import EmailEvent, OutboundEmail
from notifications.tests.helpers import wait_status
from testing.users import PASSWORD

from .test_docs_screenshots import screenshots_dir

pytestmark = pytest.mark.browser


def test_dashboard_screenshot(page, inbox, user_factory, smtp_server, live_server):
    staff = user_factory("operator")
    staff.is_staff = staff.is_superuser = True
    staff.save()
    smtp_server.handler.responses = ["550 5.1.1 no such user", "550 5.1.1 no such user"]
    for number in range(12):
        send_mail(f"Update {number}", "body", "site@example.com", [f"reader{number}@example.com"])
    rows = list(OutboundEmail.objects.order_by("pk"))
    for row in rows:
        wait_status(row.pk, "sent", "failed")
    for number, row in enumerate(OutboundEmail.objects.filter(status="sent").order_by("pk")[:3]):
        EmailEvent.objects.create(
            email=row,
            provider="Mailgun",
            event_id=f"b{number}",
            event_type="bounced",
            recipient=row.recipients,
            description="550 5.1.1 mailbox does not exist" if number else "552 mailbox full",
        )
        OutboundEmail.objects.filter(pk=row.pk).update(status="bounced")
    for number, row in enumerate(OutboundEmail.objects.filter(status="sent").order_by("pk")[:5]):
        EmailEvent.objects.create(
            email=row, provider="Mailgun", event_id=f"d{number}", event_type="delivered", recipient=row.recipients
        )

    page.goto("/admin/login/?next=/admin/delivery/")
    page.get_by_label("Username").fill("operator")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.get_by_role("heading", name="Delivery dashboard")).to_be_visible()
    expect(page.locator("svg.chart")).to_have_count(4)
    expect(page.locator("text=failed (2)")).to_be_visible()
    target = screenshots_dir()
    target.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=target / "dashboard.png", full_page=True)

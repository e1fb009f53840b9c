"""The admin's outbound email page shows the HTML part at a readable size, not in a bare
iframe's 300x150 box."""

import pytest

from notifications.services import email_send
from testing.users import PASSWORD

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width", [1280, 390])
def test_the_html_preview_is_as_wide_as_its_field_and_tall_enough_to_read(page, user_factory, width):
    staff = user_factory("operator")
    staff.is_staff = staff.is_superuser = True
    staff.save()
    message = email_send(template="confirm", to="reader@example.com", context={"link": "https://example.com/x"})
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"/admin/login/?next=/admin/notifications/outboundemail/{message.outbox_id}/change/")
    page.get_by_label("Username").fill("operator")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    frame = page.locator(".field-message_preview iframe.mail")
    frame.wait_for()
    box = frame.bounding_box()
    assert box["height"] >= 400, box
    assert box["width"] >= min(width - 80, 600) * 0.5, box  # the field's width, not 300 px
    assert box["width"] > 320 or width < 500, box

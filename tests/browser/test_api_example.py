"""The example front end (examples/frontend/index.html) signs up, confirms the address with the
emailed code, logs out and logs in, through the JSON API, in Chromium. The page is served on the
live server's origin, as a same-origin front end would be."""

import pytest

from testing.fixtures import BASE_DIR
from testing.users import PASSWORD

EXAMPLE = BASE_DIR / "examples" / "frontend" / "index.html"

pytestmark = pytest.mark.django_db(transaction=True)


def test_example_front_end_signs_up_verifies_by_code_and_logs_in(page, live_server, inbox_factory, settings):
    # The worker carries the sign-up out (and chooses a code over a link), so it needs the setting too.
    settings.ACCOUNTS_EMAIL_VERIFICATION_BY_CODE = True
    inbox = inbox_factory(ACCOUNTS_EMAIL_VERIFICATION_BY_CODE="1")
    page.route(
        f"{live_server.url}/example/",
        lambda route: route.fulfill(body=EXAMPLE.read_text(), content_type="text/html; charset=utf-8"),
    )
    page.goto("/example/")
    page.get_by_text("Not logged in.").wait_for()

    signup = page.locator("#signup")
    signup.get_by_label("Email").fill("front@example.com")
    signup.get_by_label("Username").fill("front")
    signup.get_by_label("Password").fill(PASSWORD)
    signup.get_by_role("button", name="Sign up").click()
    page.get_by_text("Check your inbox for the code.").wait_for()

    code = inbox.next_to("front@example.com").code()
    page.locator("#verify").get_by_label("Code").fill(code)
    page.locator("#verify").get_by_role("button", name="Confirm").click()
    page.get_by_text("Logged in as front (front@example.com)").wait_for()

    page.get_by_role("button", name="Log out").click()
    page.get_by_text("Not logged in.").wait_for()
    login = page.locator("#login")
    login.get_by_label("Email or username").fill("front@example.com")
    login.get_by_label("Password").fill("wrong password")
    login.get_by_role("button", name="Log in", exact=True).click()
    page.get_by_text("do not match an account").wait_for()
    login.get_by_label("Password").fill(PASSWORD)
    login.get_by_role("button", name="Log in", exact=True).click()
    page.get_by_text("Logged in as front (front@example.com)").wait_for()

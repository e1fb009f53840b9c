"""Every page the URL conf has fits a phone (390 px) and a desktop (1,280 px), in English and in
Simplified Chinese: nothing is wider than the window (`scrollWidth <= clientWidth`).

The pages are not a hand-picked list: the test walks the URL conf, fills each path parameter with a
real object (a user, an outbox row with an attachment, a live token, each admin model's first row),
and opens each URL as a visitor and as a staff user. A response that is not HTML (the JSON API,
/metrics, webhooks) is not a page; a new pattern whose parameter the test cannot fill fails it.
"""

import datetime
import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from playwright.sync_api import Error as PlaywrightError

from .conftest import PASSWORD

pytestmark = pytest.mark.browser

WIDTHS = (390, 1280)
LANGUAGES = {"en": "en-US", "zh-hans": "zh-CN"}
PARAMETER = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>|\(\?P<(?P<regex_name>\w+)>[^)]*\)")
NOT_FOUND_BY_DESIGN = {  # each a 404 on purpose, whose page (with DEBUG off) is measured all the same
    "admin/(?P<url>.*)$",  # the admin's catch-all, here for a page it does not have
    "admin/r/<path:content_type_id>/<path:object_id>/",  # "view on site": no model here has a public URL
    "api/v1/",  # Django Ninja's root, without a page of its own
    "metrics",  # without METRICS_TOKEN, /metrics does not exist
}
OVERFLOW = """() => {
  const root = document.scrollingElement || document.documentElement;
  const wide = [...document.querySelectorAll("body *")]
    .filter((el) => el.getBoundingClientRect().right > root.clientWidth + 1)
    .slice(0, 5)
    .map((el) => el.tagName.toLowerCase() + (typeof el.className === "string" && el.className
      ? "." + el.className.trim().split(/\\s+/).join(".") : ""));
  return {scrollWidth: root.scrollWidth, clientWidth: root.clientWidth, wide};
}"""


def url_patterns(patterns=None, prefix=""):
    """(route, callback) of every pattern of the URL conf, included ones too."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            yield from url_patterns(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            assert isinstance(pattern, URLPattern)
            yield prefix + str(pattern.pattern), pattern.callback


def objects_make(user_factory):
    """A real object for every kind of path parameter, and the staff user who looks at them."""
    from django.contrib.auth.models import Group
    from django.contrib.auth.tokens import default_token_generator
    from django.contrib.contenttypes.models import ContentType
    from django.core.mail import EmailMultiAlternatives
    from django.utils import timezone
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode
    from django_celery_results.models import GroupResult, TaskResult

    from accounts.flows.code_verification import code_send_process
    from accounts.models import EmailCaptcha, Passkey, TrustedBrowser
    from accounts.tokens import confirm_token_generator, email_change_token_generator, email_revert_token_generator
    from notifications.dev.mailbox import message_source
    from notifications.dev.parts import message_attachments, message_parse
    from notifications.dev.previews import email_previews
    from notifications.follows.services import unsubscribe_token_make
    from notifications.models import Follow, NotificationPreference, OutboundEmail, Suppression

    staff = user_factory("staff", is_staff=True, is_superuser=True)
    ada = user_factory("ada")
    fresh = user_factory("fresh", confirmed=False)
    mover, reverter, resetter = user_factory("mover"), user_factory("reverter"), user_factory("resetter")
    Follow.objects.create(follower=staff, followed=ada)
    NotificationPreference.objects.get_or_create(user=ada)
    Suppression.objects.create(address="bounced@example.com", reason=Suppression.Reason.choices[0][0])
    code_send_process(email=ada.email, purpose=EmailCaptcha.Purpose.choices[0][0], language="en")
    TaskResult.objects.create(task_id="task-1", task_name="notifications.deliver", status="SUCCESS")
    GroupResult.objects.create(group_id="group-1")
    Group.objects.create(name="Editors")
    # Another user's second factors: the staff user's own would make logging in take two steps.
    passkey = Passkey.objects.create(
        user=ada, name="Laptop", credential_id=b"credential", user_handle=b"handle", public_key=b"key"
    )
    trusted = TrustedBrowser.objects.create(
        user=ada, key_hash="0" * 64, expires_at=timezone.now() + datetime.timedelta(days=30)
    )
    message = EmailMultiAlternatives(
        "A message with a long unbroken subject " + "x" * 80, "Text " + "y" * 200, to=[ada.email]
    )
    message.attach_alternative("<p>HTML</p>", "text/html")
    message.attach("report.txt", "figures", "text/plain")
    message.send()
    email = OutboundEmail.objects.latest("pk")
    attachment = message_attachments(message_parse(message_source(email)))[0]
    names = [preview.name for preview in email_previews()]
    by_name = {
        "pk": email.pk,
        "index": attachment.index,
        "name": names[0],
        "language": "en",
        "username": ada.username,
        "client": "browser",
        "session_id": "1",
        "uidb64": urlsafe_base64_encode(force_bytes(resetter.pk)),
        "id": ada.pk,
        "content_type_id": ContentType.objects.get_for_model(ada).pk,
        "passkey_id": passkey.pk,
        "trust_id": trusted.pk,
        "message_id": email.pk,
    }
    by_route = {  # a token parameter means a different token on each route
        "accounts/confirm/<str:token>/": confirm_token_generator.make_token(user=fresh, email=fresh.email),
        "accounts/email/change/confirm/<str:token>/": email_change_token_generator.make_token(
            user=mover, email="moved@example.com"
        ),
        "accounts/email/revert/<str:token>/": email_revert_token_generator.make_token(
            user=reverter, email=reverter.email
        ),
        "notifications/unsubscribe/<str:token>/": unsubscribe_token_make(user=ada),
        "accounts/password/reset/<uidb64>/<token>/": default_token_generator.make_token(resetter),
    }
    return staff, by_name, by_route


def url_fill(route, callback, by_name, by_route):
    """The route with every parameter filled with a real object's value; KeyError if one cannot be."""
    model_admin = getattr(callback, "model_admin", None)

    def value(match):
        name = match["name"] or match["regex_name"]
        if name == "object_id" and model_admin is not None:
            return str(model_admin.model._default_manager.order_by("pk").first().pk)
        if name == "object_id":  # view_on_site: the user's content type
            return str(by_name["id"])
        if name == "token":
            return by_route[route]
        if name == "app_label":
            return "accounts"
        if name == "url":  # the admin's catch-all: a page it does not have
            return "no-such-page/"
        return str(by_name[name])

    path = PARAMETER.sub(value, route)
    return "/" + re.sub(r"[\^$\\]", "", path)


def log_in(context):
    page = context.new_page()
    page.goto("/accounts/login/")
    page.locator("input[name=username]").fill("staff")
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_load_state()
    page.close()
    return context.storage_state()


def evaluate(page, script):
    """page.evaluate, once more after a page that moved on by itself (a script's redirect) loaded."""
    for _attempt in range(3):
        try:
            return page.evaluate(script)
        except PlaywrightError as error:
            if "context was destroyed" not in str(error):
                raise
            page.wait_for_load_state()
    return page.evaluate(script)


def measure(page):
    found = {}
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        found[width] = evaluate(page, OVERFLOW)
    return found


def test_every_page_fits_390_and_1280_px_in_both_languages(browser, live_server, user_factory, settings):
    settings.DEBUG = True  # the dev mailbox and the email previews are pages too
    settings.SITE_URL = live_server.url
    staff, by_name, by_route = objects_make(user_factory)
    urls, unfilled = {}, []
    for route, callback in url_patterns():
        try:
            urls[url_fill(route, callback, by_name, by_route)] = route
        except KeyError as missing:
            unfilled.append(f"{route} ({missing})")
    assert not unfilled, f"no real object for these parameters; teach objects_make(): {unfilled}"

    # Logging out and ending sessions come last, so the pages before them are seen logged in.
    order = sorted(urls, key=lambda url: ("logout" in url or "end-others" in url or "revert" in url, url))
    checked, not_pages, overflowing, errors = set(), set(), [], []
    for language, locale in LANGUAGES.items():
        base = browser.new_context(base_url=live_server.url, locale=locale)
        states = {"visitor": None, "staff": log_in(base)}
        base.close()
        for who, state in states.items():
            context = browser.new_context(base_url=live_server.url, locale=locale, storage_state=state)
            page = context.new_page()
            for url in order:
                if who == "visitor" and urls[url].startswith(("admin/", "api/")):
                    continue  # a visitor meets the admin's login page, checked as admin/login/
                settings.DEBUG = urls[url] not in NOT_FOUND_BY_DESIGN  # our 404 page, not Django's debug one
                try:
                    response = page.goto(url)
                    status = response.status
                    content_type = response.headers.get("content-type", "")
                except PlaywrightError as error:
                    if "interrupted by another navigation" in str(error):  # the page moved on by itself
                        page.wait_for_load_state()
                        status, content_type = 200, "text/html"
                    else:  # a download, or an empty error response (a 405 to GET): no page to show
                        response = context.request.get(url, max_redirects=0)
                        html = response.headers.get("content-type", "").startswith("text/html")
                        assert not (html and response.body()), (url, response.status, str(error))
                        not_pages.add(urls[url])
                        continue
                if not content_type.startswith("text/html") or not evaluate(page, "!!document.doctype"):
                    not_pages.add(urls[url])  # not HTML, or a fragment (the mailbox's rows, for its script)
                    continue
                if status >= 500 or (status == 404 and urls[url] not in NOT_FOUND_BY_DESIGN):
                    errors.append(f"{who} {language} {url}: {status}")
                for width, sizes in measure(page).items():
                    if sizes["scrollWidth"] > sizes["clientWidth"]:
                        overflowing.append(
                            f"{who} {language} {width}px {url} (-> {page.url}): {sizes['scrollWidth']} > "
                            f"{sizes['clientWidth']}, wide: {sizes['wide']}"
                        )
                checked.add(urls[url])
                if who == "staff" and context.request.get("/accounts/settings/", max_redirects=0).status != 200:
                    page.close()  # a page logged the browser out (or in as someone else): log in again
                    context.close()
                    context = browser.new_context(base_url=live_server.url, locale=locale, storage_state=state)
                    page = context.new_page()
            context.close()

    assert not errors, "\n".join(errors)
    assert not overflowing, "\n".join(overflowing)
    assert set(urls.values()) == checked | not_pages
    # Sanity: the pages the issue names were among those measured, as HTML.
    for route in (
        "accounts/settings/",
        "dev/emails/",
        "dev/emails/<slug:name>/",
        "admin/accounts/emailcaptcha/activity/",
    ):
        assert route in checked, route


def test_the_header_lines_up_with_the_wide_pages_cards(browser, live_server, settings):
    """The dev mailbox and the email previews are wider than the other pages: the header's brand
    starts where their card starts, at a desktop width and on a phone."""
    settings.DEBUG = True
    context = browser.new_context(base_url=live_server.url, locale="en-US")
    page = context.new_page()
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        for url in ("/dev/mailbox/", "/dev/emails/"):
            page.goto(url)
            brand = page.locator("header.site .brand").bounding_box()
            card = page.locator("main .card").first.bounding_box()
            assert abs(brand["x"] - card["x"]) < 1, (url, width, brand, card)
    context.close()


def test_the_delete_pages_cancel_link_stands_apart_from_the_red_button(browser, live_server, user_factory):
    user_factory("staff")
    context = browser.new_context(base_url=live_server.url, locale="en-US")
    context.add_cookies(log_in(context)["cookies"])
    page = context.new_page()
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        page.goto("/accounts/delete/")
        button = page.get_by_role("button", name="Delete my account").bounding_box()
        cancel = page.get_by_role("link", name="Cancel").bounding_box()
        gap = cancel["x"] - (button["x"] + button["width"])
        assert gap >= 12 or cancel["y"] >= button["y"] + button["height"], (width, button, cancel)
    context.close()

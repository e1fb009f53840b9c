"""Email previews (/dev/emails/): every email template has one, every preview renders in every
language, and the pages exist only while DEBUG is on."""

import re

import pytest
from django.conf import settings
from django.test import override_settings
from django.urls import reverse
from django.utils.html import escape

from notifications.dev.mailbox import html_for_frame
from notifications.dev.previews import email_preview_get, email_previews, email_template_folder, email_templates
from notifications.outbox.services import email_render

LANGUAGES = [code for code, _name in settings.LANGUAGES]
PREVIEWS = [preview.name for preview in email_previews()]


def test_every_email_template_has_a_preview():
    on_disk = set(email_templates())
    previewed = {preview.template for preview in email_previews()}
    assert {"code", "confirm", "password_reset", "password_changed", "follower_alert", "follower_digest"} <= on_disk
    assert on_disk - previewed == set(), "add a preview to the app's email_previews.py"
    assert previewed - on_disk == set(), "a preview names a template that does not exist"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", PREVIEWS)
def test_every_preview_renders_what_email_send_would_send(name, language):
    preview = email_preview_get(name)

    subject, text, html = preview.render(language=language)

    assert subject.strip() and text.strip() and html.strip()
    assert "\n" not in subject
    assert html.lstrip().lower().startswith("<!doctype html>")
    assert f'<html lang="{language}">' in html
    assert (subject, text, html) == email_render(template=preview.template, context=preview.sample(), language=language)


def test_previews_hold_no_link_that_works(db):
    from accounts.tokens import TokenError, confirm_token_generator

    for preview in email_previews():
        for link in re.findall(r"/accounts/confirm/([^/\s\"]+)/", preview.render(language="en")[1]):
            with pytest.raises(TokenError):
                confirm_token_generator.read_token(link)


# ------------------------------------------------------------------------------------------------
# Pages
# ------------------------------------------------------------------------------------------------
@override_settings(DEBUG=True)
def test_the_list_names_every_preview_with_its_subject_in_each_language(client, db):
    response = client.get("/dev/emails/")

    assert response.status_code == 200
    page = response.content.decode()
    for preview in email_previews():
        assert reverse("notifications:email-preview", args=[preview.name]) in page
        for language in LANGUAGES:
            subject = preview.render(language=language)[0]
            assert f' lang="{language}">{escape(subject)}</td>' in page
        # Where its templates really are (templates/email/ at the top does not exist).
        assert f"<code>{email_template_folder(preview.template)}</code>" in page
    assert "accounts/templates/email/confirm/" in page and "notifications/templates/email/" in page
    assert "templates/email/" not in page.replace("accounts/templates/email/", "").replace(
        "notifications/templates/email/", ""
    )
    assert "has no preview" not in page


@override_settings(DEBUG=True)
def test_the_list_says_which_template_has_no_preview(client, db, settings, tmp_path):
    (tmp_path / "email" / "brand_new").mkdir(parents=True)
    (tmp_path / "email" / "brand_new" / "body.html").write_text("<p>New</p>")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [*settings.TEMPLATES[0]["DIRS"], tmp_path]}]

    page = client.get("/dev/emails/").content.decode()

    assert f"{tmp_path}/email/brand_new/ has no preview" in page


@override_settings(DEBUG=True)
def test_a_preview_shows_html_in_a_sandbox_beside_the_text_in_every_language(client, db):
    preview = email_preview_get("confirm")

    response = client.get(f"/dev/emails/{preview.name}/")

    assert response.status_code == 200
    page = response.content.decode()
    frames = re.findall(r"<iframe[^>]*>", page)
    assert len(frames) == len(LANGUAGES)
    for language, frame in zip(LANGUAGES, frames, strict=True):
        assert " sandbox=" in frame and "allow-scripts" not in frame
        assert reverse("notifications:email-preview-html", args=[preview.name, language]) in frame
        subject, text, _html = preview.render(language=language)
        assert f"<strong>Subject:</strong> {subject}" in page
        assert "/accounts/confirm/" in text and text.split("\n")[0] in page

    for language in LANGUAGES:
        frame = client.get(reverse("notifications:email-preview-html", args=[preview.name, language]))
        assert frame.status_code == 200
        assert frame.content.decode() == html_for_frame(preview.render(language=language)[2])
        assert frame["Content-Security-Policy"].startswith("sandbox")
        assert frame["X-Frame-Options"] == "SAMEORIGIN"


@override_settings(DEBUG=True)
@pytest.mark.parametrize("path", ["/dev/emails/no_such_email/", "/dev/emails/confirm/fr/html/"])
def test_unknown_previews_and_languages_are_404(client, db, path):
    assert client.get(path).status_code == 404


@override_settings(DEBUG=False)
@pytest.mark.parametrize("path", ["/dev/emails/", "/dev/emails/confirm/", "/dev/emails/confirm/en/html/"])
def test_nothing_without_debug(client, db, path):
    assert client.get(path).status_code == 404


@override_settings(DEBUG=True)
def test_the_dev_mailbox_links_to_the_previews(client, db):
    assert 'href="/dev/emails/"' in client.get("/dev/mailbox/").content.decode()


def test_two_previews_cannot_share_a_name():
    from notifications.dev.previews import email_preview

    def confirm():
        return {}

    with pytest.raises(ValueError, match="Two email previews are named 'confirm'"):
        email_preview(template="confirm")(confirm)
    assert email_preview_get("confirm").sample.__module__ == "accounts.email_previews"

"""Every email preview, in every language, as mail clients see it: HTML that HTML Tidy accepts
under rules chosen for email (the table attributes Outlook needs are allowed, nothing else is),
a width-fixed wrapper for Outlook, buttons that are table cells with a bgcolor, a hidden
preheader, the color-scheme meta, and a text part that carries the HTML footer's links."""

import re
import shutil
import subprocess

import pytest

from notifications.dev.previews import email_previews
from testing.fixtures import service_missing

LANGUAGES = ["en", "zh-hans"]
# Presentational attributes are how email reaches Outlook's Word renderer; HTML5 calls them obsolete.
EMAIL_ATTRIBUTES = {"align", "valign", "width", "height", "bgcolor", "border", "cellpadding", "cellspacing"}
ALLOWED_WARNING = re.compile(r'Warning: <(table|td|tr|th)> attribute "(\w+)" not allowed for HTML5')


def rendered():
    return [
        pytest.param(preview, language, id=f"{preview.name}-{language}")
        for preview in email_previews()
        for language in LANGUAGES
    ]


@pytest.fixture(scope="module")
def tidy():
    path = shutil.which("tidy")
    if path is None:
        service_missing("HTML Tidy is not installed (apt-get install tidy)")
    return path


def tidy_problems(tidy, html):
    result = subprocess.run(
        [tidy, "-q", "-e", "-utf8", "--show-warnings", "yes", "--gnu-emacs", "no"],
        input=html.encode(),
        capture_output=True,
        timeout=30,
    )
    problems = []
    for line in result.stderr.decode().splitlines():
        allowed = ALLOWED_WARNING.search(line)
        if line.strip() and not (allowed and allowed.group(2) in EMAIL_ATTRIBUTES):
            problems.append(line)
    return result.returncode, problems


@pytest.mark.parametrize(("preview", "language"), rendered())
def test_preview_html_passes_the_checker_and_holds_up_in_email_clients(tidy, preview, language):
    subject, text, html = preview.render(language=language)

    returncode, problems = tidy_problems(tidy, html)
    assert returncode in (0, 1) and problems == [], "\n".join(problems)

    assert '<meta name="color-scheme" content="light">' in html
    assert re.search(r'<!--\[if mso\]><table role="presentation" width="560"', html)
    assert "<!--[if mso]></td></tr></table><![endif]-->" in html
    preheader = re.search(r'<div class="preheader" style="display:none;[^"]*mso-hide:all;">(.*?)</div>', html, re.S)
    assert preheader and preheader.group(1).strip(), "no preheader: the inbox snippet would start with the layout"
    for button in re.findall(r'<a [^>]*style="display:inline-block;[^"]*"', html):
        # A button is a link in a table cell whose bgcolor Outlook paints.
        assert re.search(r'<td align="center" bgcolor="#[0-9a-f]{6}"[^>]*>' + re.escape(button), html), button


@pytest.mark.parametrize(("preview", "language"), rendered())
def test_text_part_carries_the_footer_links_of_the_html(preview, language):
    _subject, text, html = preview.render(language=language)
    footer = re.search(r'<td class="footer"[^>]*>(.*?)</td>', html, re.S).group(1)
    links = re.findall(r'href="([^"]+)"', footer)
    assert links
    for link in links:
        assert link.replace("&amp;", "&") in text


def test_chinese_digest_joins_names_with_the_enumeration_comma_and_ends_with_a_chinese_full_stop():
    preview = next(p for p in email_previews() if p.name == "follower_digest_many")
    subject, text, html = preview.render(language="zh-hans")
    assert "Grace Hopper、Alan Turing、linus" in subject
    assert text.splitlines()[0].endswith("。") and not text.splitlines()[0].endswith(".")
    assert "关注了您。" in html and "关注了您." not in html
    english_subject, english_text, _html = preview.render(language="en")
    assert "Grace Hopper, Alan Turing, linus" in english_subject
    assert english_text.splitlines()[0].endswith("following you.")


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_layout_footer_puts_its_punctuation_in_the_translation(language, settings):
    preview = next(p for p in email_previews() if p.name == "password_reset")
    _subject, text, html = preview.render(language=language)
    stop = "。" if language == "zh-hans" else "."
    footer = re.search(r'<td class="footer"[^>]*>(.*?)</td>', html, re.S).group(1)
    assert footer.strip().endswith(stop) and not footer.strip().endswith("。.")
    assert text.strip().splitlines()[-1].endswith(stop) and settings.SITE_URL in text.strip().splitlines()[-1]

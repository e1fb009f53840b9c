"""Helpers for the accounts tests: users, reading links out of mail, a clean cache per test.

(The fixtures of the accounts tests are in conftest.py here.)
"""

import re
from urllib.parse import urlsplit

from django.conf import settings

PASSWORD = "correct horse battery staple"
NEW_PASSWORDS = {"new_password1": "a brand new passphrase 42", "new_password2": "a brand new passphrase 42"}


def links_in(text, path_prefix):
    """Absolute links in `text` under SITE_URL + path_prefix."""
    pattern = re.escape(settings.SITE_URL + path_prefix) + r"[^\s\"'<>]*"
    return re.findall(pattern, text)


def link_path(message, path_prefix):
    """The path of the one link to `path_prefix` in a mail, as a person would click it: the same
    link in the text body and in the HTML body."""
    text_links = set(links_in(message.body, path_prefix))
    html = next(content for content, mimetype in message.alternatives if mimetype == "text/html")
    html_links = set(links_in(html, path_prefix))
    assert len(text_links) == 1, f"expected one {path_prefix} link in the text body, found {text_links}"
    assert html_links == text_links, (html_links, text_links)
    return urlsplit(text_links.pop()).path


def html_of(message):
    return next(content for content, mimetype in message.alternatives if mimetype == "text/html")

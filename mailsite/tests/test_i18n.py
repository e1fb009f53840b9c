"""English and Simplified Chinese: the committed catalogue is complete and compiled, pages follow
the browser (or the switcher), and every email follows its recipient's saved language."""

import ast
import gettext
import re
import shutil
import subprocess
import sys

import pytest
from django.conf import settings
from django.test import override_settings
from django.urls import reverse
from django.utils import translation

from notifications.dev.previews import email_previews
from testing.fixtures import BASE_DIR, service_missing

# mailsite's own catalogue and each app's (makemessages puts a message in the nearest one).
CATALOGUES = ["locale", "accounts/locale", "notifications/locale"]
PO_PATH = "zh_Hans/LC_MESSAGES/django.po"
POS = [BASE_DIR / catalogue / PO_PATH for catalogue in CATALOGUES]
CJK = re.compile(r"[\u4e00-\u9fff]")
# A translation may be punctuation alone (the enumeration comma between names).
CJK_OR_PUNCTUATION = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
PLACEHOLDER = re.compile(r"%(?:\([a-z_]+\))?[-#0 +]*\d*(?:\.\d+)?[sdrifx%]")


# ------------------------------------------------------------------------------------------------
# The catalogue
# ------------------------------------------------------------------------------------------------
def po_entries(path):
    """The entries of a .po file as dicts: flags, msgctxt, msgid, msgid_plural, msgstr (a list)."""
    entries, entry, field = [], None, None
    for raw in path.read_text(encoding="utf-8").splitlines() + [""]:
        line = raw.strip()
        if not line or line.startswith("#~"):  # a blank line ends an entry; #~ is obsolete
            if entry is not None:
                entries.append(entry)
            entry, field = None, None
            continue
        if entry is None:
            entry = {"flags": set(), "msgctxt": None, "msgid": "", "msgid_plural": None, "msgstr": []}
        if line.startswith("#,"):
            entry["flags"].update(flag.strip() for flag in line[2:].split(","))
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            text = ast.literal_eval(line)
            if field[0] == "msgstr":
                entry["msgstr"][field[1]] += text
            else:
                entry[field[0]] += text
        else:
            keyword, _space, value = line.partition(" ")
            text = ast.literal_eval(value)
            if keyword.startswith("msgstr"):
                index = int(keyword[7:-1]) if "[" in keyword else 0
                entry["msgstr"].append(text)
                field = ("msgstr", index)
            else:
                entry[keyword] = text
                field = (keyword, None)
    return entries


def untranslated(entries):
    return [e["msgid"] for e in entries if e["msgid"] and (not all(e["msgstr"]) or "fuzzy" in e["flags"])]


@pytest.mark.parametrize("po", POS, ids=CATALOGUES)
def test_the_catalogue_has_a_translation_for_every_message(po):
    entries = po_entries(po)
    header = entries[0]
    assert header["msgid"] == "" and "fuzzy" not in header["flags"]
    assert "Plural-Forms: nplurals=1; plural=0;" in header["msgstr"][0]
    assert len(entries) > 10
    assert untranslated(entries) == []


def test_the_apps_carry_most_of_the_messages():
    assert sum(len(po_entries(po)) for po in POS) > 300


@pytest.mark.parametrize("po", POS, ids=CATALOGUES)
def test_translations_keep_every_placeholder(po):
    for entry in po_entries(po)[1:]:
        source = sorted(PLACEHOLDER.findall(entry["msgid_plural"] or entry["msgid"]))
        for translated in entry["msgstr"]:
            assert sorted(PLACEHOLDER.findall(translated)) == source, entry["msgid"]
            assert CJK_OR_PUNCTUATION.search(translated) or translated == entry["msgid"], entry["msgid"]


@pytest.mark.parametrize("po", POS, ids=CATALOGUES)
def test_the_committed_mo_file_is_compiled_from_the_po_file(po):
    with po.with_suffix(".mo").open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    for entry in po_entries(po)[1:]:
        key = entry["msgid"] if entry["msgctxt"] is None else f"{entry['msgctxt']}\x04{entry['msgid']}"
        if entry["msgid_plural"]:
            assert compiled.ngettext(key, entry["msgid_plural"], 2) == entry["msgstr"][0], entry["msgid"]
        else:
            assert compiled.gettext(key) == entry["msgstr"][0], entry["msgid"]


def test_every_message_in_the_source_is_translated(tmp_path):
    """makemessages over a copy of the project finds nothing the committed catalogue lacks."""
    if not shutil.which("xgettext") or not shutil.which("msgmerge"):
        service_missing("GNU gettext (xgettext, msgmerge) is not installed")
    skip = shutil.ignore_patterns(".*", "var", "bench", "docs", "test-results", "__pycache__", "*.mo")
    copy = tmp_path / "project"
    shutil.copytree(BASE_DIR, copy, ignore=skip)
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "zh_Hans", "--ignore=var", "--ignore=bench"],
        cwd=copy,
        check=True,
        capture_output=True,
        timeout=300,
    )

    for catalogue in CATALOGUES:
        missing = untranslated(po_entries(copy / catalogue / PO_PATH))
        assert missing == [], f"run make messages, translate these in {catalogue}/{PO_PATH}, run it again"


# ------------------------------------------------------------------------------------------------
# Emails: rendered in each language; sent in the recipient's
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("preview", email_previews(), ids=lambda preview: preview.name)
def test_every_email_reads_differently_in_each_language(preview):
    english = preview.render(language="en")
    chinese = preview.render(language="zh-hans")

    for part_en, part_zh in zip(english, chinese, strict=True):
        assert part_en != part_zh
        assert CJK.search(part_zh) and not CJK.search(part_en)
    assert '<html lang="zh-hans">' in chinese[2]


def assert_chinese(message):
    html = next(content for content, mimetype in message.alternatives if mimetype == "text/html")
    assert CJK.search(message.subject) and CJK.search(message.body) and CJK.search(html), message.subject


@pytest.fixture
def english_request():
    """Whoever triggers the mail browses in English."""
    with translation.override("en"):
        yield


def test_account_emails_are_in_the_recipients_language(user_factory, english_request, outbox, redis_cache):
    from accounts.flows import code_verification, email_change, email_verification, password_reset, signup

    user = user_factory(language="zh-hans")
    user.email_confirmed_at = None
    user.save()
    email_verification.confirmation_send(user=user)
    signup.signup_existing_notify(email=user.email)
    password_reset.password_changed_notify(user=user)
    email_change.email_change_request(user=user, new_email="ada.new@example.com")

    sent = outbox.deliver()

    assert sorted(m.subject for m in sent) == sorted(
        [
            "确认您在 mailsite 的邮箱地址",
            "您已经有 mailsite 账户了",
            "您的 mailsite 密码已修改",
            "确认您在 mailsite 的新邮箱地址",
        ]
    )
    for message in sent:
        assert_chinese(message)

    user.mark_email_confirmed()
    user.save()
    code_verification.code_send(email=user.email, purpose="login", language="en")
    assert_chinese(outbox.last_to(user.email))


def test_email_change_notice_is_in_the_recipients_language(user_factory, english_request, outbox):
    from accounts.flows.email_change import email_change_confirm
    from accounts.tokens import email_change_token_generator

    user = user_factory(language="zh-hans")
    token = email_change_token_generator.make_token(user=user, email="ada.new@example.com")
    email_change_confirm(token=token)

    notice = outbox.last_to("ada@example.com")
    assert notice.subject == "您 mailsite 账户的邮箱地址已更改"
    assert_chinese(notice)


def test_a_reset_asked_for_in_chinese_reaches_an_english_user_in_english(
    user_factory, client, outbox, redis_cache, settings
):
    settings.ACCOUNTS_INTENTS_INLINE = True  # the worker's half (it renders the mail) in this process
    user_factory(language="en")

    client.post("/accounts/password/reset/", {"email": "ada@example.com"}, headers={"accept-language": "zh-hans"})

    message = outbox.last_to("ada@example.com")
    assert message.subject == "Reset your mailsite password"
    assert not CJK.search(message.body)


def test_a_reset_asked_for_in_english_reaches_a_chinese_user_in_chinese(
    user_factory, client, outbox, redis_cache, settings
):
    settings.ACCOUNTS_INTENTS_INLINE = True  # the worker's half (it renders the mail) in this process
    user_factory(language="zh-hans")

    client.post("/accounts/password/reset/", {"email": "ada@example.com"}, headers={"accept-language": "en"})

    message = outbox.last_to("ada@example.com")
    assert message.subject == "重置您的 mailsite 密码"
    assert_chinese(message)


def test_follower_alert_is_in_the_recipients_language(user_factory, english_request, outbox):
    from notifications.follows import services as follows

    li = user_factory("li", language="zh-hans")
    alice = user_factory("alice", language="en")
    follows.follow_create(follower=alice, followed=li)
    follows.follower_alerts_process(recipient_id=li.pk)  # what the worker runs

    alert = outbox.last_to("li@example.com")
    assert alert.subject == "alice 关注了您"
    assert_chinese(alert)


# ------------------------------------------------------------------------------------------------
# Pages: the browser's language, or the switcher's
# ------------------------------------------------------------------------------------------------
PAGES = ["/", "/accounts/login/", "/accounts/signup/", "/accounts/password/reset/", "/accounts/login/code/", "/users/"]


def english_sentences():
    """Our own English sentences: none of them may be left on a page shown in Chinese."""
    return [
        e["msgid"]
        for e in (entry for po in POS for entry in po_entries(po)[1:])
        if " " in e["msgid"] and len(e["msgid"]) > 12 and not PLACEHOLDER.search(e["msgid"]) and "<" not in e["msgid"]
    ]


@pytest.mark.parametrize("accept", ["zh-hans", "zh-CN,zh;q=0.9,en;q=0.8", "zh"])
def test_pages_follow_the_browsers_language(client, db, accept):
    for path in PAGES:
        response = client.get(path, headers={"accept-language": accept})

        assert response.status_code == 200, path
        assert response["Content-Language"] == "zh-hans"
        page = response.content.decode()
        assert '<html lang="zh-hans">' in page
        leftovers = [sentence for sentence in english_sentences() if sentence in page]
        assert leftovers == [], path


LOGGED_IN_PAGES = [
    "/",
    "/accounts/password/change/",
    "/accounts/email/change/",
    "/settings/notifications/",
    "/u/ada/",
    "/u/ada/followers/",
    "/u/ada/following/",
    "/accounts/confirm/resend/",
    "/accounts/confirm/not-a-token/",
    "/notifications/unsubscribe/not-a-token/",
]


@override_settings(DEBUG=True)
def test_logged_in_pages_and_dev_pages_in_chinese(user_factory, client, db):
    client.force_login(user_factory(language="en"))
    for path in [*LOGGED_IN_PAGES, "/dev/mailbox/"]:
        response = client.get(path, headers={"accept-language": "zh-hans"})

        assert response.status_code in (200, 400), path  # 400: the pages for a bad link
        page = response.content.decode()
        assert '<html lang="zh-hans">' in page, path
        assert [sentence for sentence in english_sentences() if sentence in page] == [], path
    # The previews show every language side by side; around them, the page is in the reader's.
    for path in ["/dev/emails/", "/dev/emails/confirm/"]:
        page = client.get(path, headers={"accept-language": "zh-hans"}).content.decode()
        assert '<html lang="zh-hans">' in page and "<title>" in page and "邮件预览" in page


@pytest.mark.parametrize("accept", [None, "en-GB,en;q=0.9", "fr-FR,fr;q=0.9"])
def test_other_browsers_get_english(client, db, accept):
    headers = {"accept-language": accept} if accept else {}

    response = client.get("/", headers=headers)

    assert response["Content-Language"] == "en"
    assert "Welcome to mailsite" in response.content.decode()


def test_the_switcher_changes_the_language_and_returns_to_the_page(client, db):
    page = client.get("/accounts/login/").content.decode()
    form = re.search(r'<form method="post" action="/i18n/setlang/".*?</form>', page, re.S).group(0)
    assert 'name="next" value="/accounts/login/"' in form
    assert '<button class="link" type="submit" name="language" value="zh-hans" lang="zh-hans">简体中文</button>' in form

    response = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/accounts/login/"})

    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    page = client.get("/accounts/login/").content.decode()
    assert '<html lang="zh-hans">' in page and "通过邮件验证码登录" in page
    assert 'value="en" lang="en">English</button>' in page


def test_switching_saves_a_logged_in_users_email_language(user_factory, client, outbox):
    user = user_factory(language="en")
    client.force_login(user)

    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})

    user.refresh_from_db()
    assert user.language == "zh-hans"
    from accounts.flows.password_reset import password_changed_notify

    with translation.override("en"):
        password_changed_notify(user=user)
    assert outbox.last_to(user.email).subject == "您的 mailsite 密码已修改"


@pytest.mark.parametrize("language", ["xx", "", "zh-hans\n"])
def test_switching_to_an_unknown_language_changes_nothing(user_factory, client, db, language):
    user = user_factory(language="en")
    client.force_login(user)

    response = client.post("/i18n/setlang/", {"language": language, "next": "/"})

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.language == "en"
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies


def test_the_switcher_never_redirects_off_site(client, db):
    response = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "https://evil.example/"})

    assert response.status_code == 302 and response["Location"] == "/"


def test_the_switcher_is_in_the_url_conf_under_djangos_name():
    assert reverse("set_language") == "/i18n/setlang/"


def test_djangos_own_password_messages_say_nin_like_ours():
    """Django's zh_Hans catalogue says "你"; the pages say "您", so locale/ translates Django's again."""
    from django.contrib.auth.password_validation import password_validators_help_texts
    from django.utils import translation

    with translation.override("zh-hans"):
        texts = password_validators_help_texts()
        old = translation.gettext("Your old password was entered incorrectly. Please enter it again.")
    assert texts and all("你" not in text for text in texts), texts
    assert any("您的密码" in text for text in texts)
    assert old == "您的旧密码不正确。请重新输入。"

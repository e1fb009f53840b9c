"""Helpers of the second-factor tests: setting up an authenticator app through its page, as a
person does, and reading the key and the recovery codes off the pages they were shown on."""

import html
import re
import time

import pyotp
from django.test import Client

from testing.users import PASSWORD


def page_secret(response):
    match = re.search(r'id="totp-secret"[^>]*>([A-Z2-7]+)<', response.content.decode())
    assert match, "the set-up page shows no key"
    return match[1]


def page_recovery_codes(response):
    body = response.content.decode()
    block = re.search(r'id="recovery-codes">(.*?)</ul>', body, re.S)
    assert block, "the page shows no recovery codes"
    return [html.unescape(code) for code in re.findall(r"<code>([0-9a-f-]+)</code>", block[1])]


def code_at(secret, step_offset=0, now=None):
    now = time.time() if now is None else now
    return pyotp.TOTP(secret).at(now + 30 * step_offset)


def login_password(client, user, **extra):
    return client.post("/accounts/login/", {"username": user.email, "password": PASSWORD, **extra})


def totp_set_up(user, *, client=None):
    """Log `user` in (no factor yet), set up an authenticator app from its page. Returns
    (client, secret, recovery codes)."""
    client = client or Client()
    assert login_password(client, user).status_code == 302
    page = client.get("/accounts/security/totp/")
    assert page.status_code == 200, page.status_code
    secret = page_secret(page)
    done = client.post("/accounts/security/totp/", {"code": code_at(secret)})
    assert done.status_code == 200, done.content[:500]
    return client, secret, page_recovery_codes(done)


def wait_for_next_step():
    """Sleep into the next 30-second step, so a code just used is not the current one."""
    time.sleep(30 - time.time() % 30 + 0.05)


def is_logged_in(client):
    return client.get("/accounts/settings/").status_code == 200


def fresh_code(user, secret, *, after=0):
    """A code of `user`'s app that is inside the allowed drift and whose step was never used
    (the set-up used one): the newest such step, or the one `after` steps later."""
    from accounts.models import TotpStepUsed

    used = set(TotpStepUsed.objects.filter(authenticator__user=user).values_list("step", flat=True))
    current = int(time.time() // 30)
    step = next(s for s in (current + 1, current, current - 1) if s not in used)
    return pyotp.TOTP(secret).generate_otp(step)


def used_code(user, secret):
    from accounts.models import TotpStepUsed

    step = TotpStepUsed.objects.filter(authenticator__user=user).order_by("-step").values_list("step", flat=True)[0]
    return pyotp.TOTP(secret).generate_otp(step)

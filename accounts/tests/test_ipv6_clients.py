"""IPv6 clients are counted by their /64 (issue: every IPv6 address was its own client, so one
home line or cloud VM, which holds 2^64 addresses, had no per-IP limit at all)."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from accounts.code_activity import activity_note, activity_top
from accounts.conf import settings as app_settings
from accounts.models import Intent
from accounts.ratelimit import client_network

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("redis_cache")]

PASSWORD = "a long enough pass 2"


@pytest.mark.parametrize(
    "ip, network",
    [
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:DB8:1:2::ffff", "2001:db8:1:2::/64"),
        ("::ffff:192.0.2.1", "192.0.2.1"),  # IPv4-mapped: the IPv4 address
        ("192.0.2.1", "192.0.2.1"),
        ("unknown", "unknown"),
    ],
)
def test_what_a_client_is_counted_as(ip, network):
    assert client_network(ip) == network


def test_the_prefix_is_a_setting(settings):
    settings.ACCOUNTS_IPV6_PREFIX = 48
    assert client_network("2001:db8:1:2::1") == "2001:db8:1::/48"


def test_25_signups_from_one_64_hit_the_20_an_hour_limit(settings):
    settings.ACCOUNTS_INTENTS_INLINE = False  # only the requests are counted here
    statuses = []
    for n in range(25):
        data = {"email": f"u{n}@example.com", "username": f"u{n}", "password1": PASSWORD, "password2": PASSWORD}
        client = Client(REMOTE_ADDR=f"2001:db8:aa:bb:{n:x}:{n:x}:0:1")  # 25 addresses, one /64
        statuses.append(client.post("/accounts/signup/", data).status_code)
    assert statuses == [302] * 20 + [429] * 5  # before: 25 x 302
    assert Intent.objects.filter(kind=Intent.Kind.SIGNUP).count() == 20
    other = Client(REMOTE_ADDR="2001:db8:aa:bc::1")  # the next /64 is another client
    data = {"email": "v@example.com", "username": "v", "password1": PASSWORD, "password2": PASSWORD}
    assert other.post("/accounts/signup/", data).status_code == 302
    assert not get_user_model().objects.exists()


def test_an_ipv4_mapped_client_shares_the_ipv4_bucket(settings):
    settings.ACCOUNTS_RATE_LIMITS = {**app_settings.ACCOUNTS_RATE_LIMITS, "signup": "1/h/ip"}
    settings.ACCOUNTS_INTENTS_INLINE = False
    data = {"email": "a@example.com", "username": "a", "password1": PASSWORD, "password2": PASSWORD}
    assert Client(REMOTE_ADDR="192.0.2.7").post("/accounts/signup/", data).status_code == 302
    assert Client(REMOTE_ADDR="::ffff:192.0.2.7").post("/accounts/signup/", data).status_code == 429


def test_code_activity_counts_a_64_as_one_client():
    for n in range(5):
        activity_note(action="send", email=f"x{n}@example.com", ip=f"2001:db8:5:6::{n + 1}")
    assert activity_top(action="send", scope="ip") == [("2001:db8:5:6::/64", 5)]

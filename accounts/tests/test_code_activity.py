"""The "who is asking for codes" counters in Redis: past the IP limit only, hashed, capped."""

import pytest
from django.contrib.auth import get_user_model
from django.test import override_settings

from accounts.code_activity import activity_member, activity_note, activity_of, activity_top

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("redis_cache")]

TIGHT_IP = {"code_send": "100/h/key,3/h/ip", "code_verify": "100/h/key,3/h/ip"}


def activity_sets(redis_client, action="send"):
    """{scope: {member: count}} of every activity set in Redis for `action`."""
    sets = {}
    for key in redis_client.scan_iter(match=f"*code:activity:{action}:*"):
        scope = key.decode().split(":")[-2]
        members = redis_client.zrange(key, 0, -1, withscores=True)
        sets.setdefault(scope, {}).update({member.decode(): int(score) for member, score in members})
    return sets


def test_requests_refused_by_the_ip_limit_add_nothing(client, redis_client):
    """The attack: one client posting a new address each time. Before, every refused request
    still stored its address for two days; now only those within the IP limit count."""
    with override_settings(ACCOUNTS_RATE_LIMITS=TIGHT_IP):
        answers = [
            client.post("/accounts/code/", {"email": f"flood{n}@example.com"}, REMOTE_ADDR="192.0.2.9").status_code
            for n in range(12)
        ]
    assert answers.count(429) == 9

    sets = activity_sets(redis_client)
    assert sets["ip"] == {"192.0.2.9": 3}
    assert len(sets["email"]) == 3
    assert sorted(sets["email"]) == sorted(activity_member(f"flood{n}@example.com") for n in range(3))


def test_a_request_refused_only_by_the_address_limit_is_still_counted(client, redis_client):
    """Many clients at one address is what the counters are for: the IP limit had room."""
    with override_settings(ACCOUNTS_RATE_LIMITS={"code_send": "1/h/key,100/h/ip"}):
        answers = [
            client.post("/accounts/code/", {"email": "target@example.com"}, REMOTE_ADDR=f"192.0.2.{n}").status_code
            for n in range(1, 5)
        ]
    assert answers[1:] == [429, 429, 429]
    assert activity_sets(redis_client)["email"] == {activity_member("target@example.com"): 4}


def test_addresses_are_stored_as_a_keyed_hash(client, redis_client):
    client.post("/accounts/code/", {"email": "Secret.Person@Example.com"}, REMOTE_ADDR="192.0.2.10")

    members = activity_sets(redis_client)["email"]
    assert list(members) == [activity_member("secret.person@example.com")]
    for key in redis_client.scan_iter(match="*code:activity:*"):
        for member in redis_client.zrange(key, 0, -1):
            assert b"@" not in member and b"secret" not in member.lower()
    with override_settings(SECRET_KEY="another-secret-key-0123456789abcdef0123456789"):
        assert activity_member("secret.person@example.com") not in members  # keyed: not a bare digest


def test_each_set_keeps_only_its_busiest_members(redis_client, settings):
    settings.ACCOUNTS_RATE_LIMITS_ENABLED = False
    settings.ACCOUNTS_CODE_ACTIVITY_MAX = 5
    for _ in range(3):
        activity_note(action="verify", email="busy@example.com", ip="192.0.2.1")
    for n in range(50):
        activity_note(action="verify", email=f"once{n}@example.com", ip=f"198.51.100.{n}")

    sets = activity_sets(redis_client, action="verify")
    assert len(sets["email"]) == 5 and len(sets["ip"]) == 5
    assert sets["email"][activity_member("busy@example.com")] == 3
    assert sets["ip"]["192.0.2.1"] == 3
    top = activity_top(action="verify", scope="email", addresses=["busy@example.com"])
    assert top[0] == ("busy@example.com", 3)


def test_nothing_is_counted_while_the_ip_is_over_its_limit_even_if_called_again(redis_client):
    with override_settings(ACCOUNTS_RATE_LIMITS={"code_verify": "1/h/ip"}):
        from accounts.ratelimit import ratelimit_consume

        assert ratelimit_consume(action="code_verify", ip="192.0.2.3") is None  # the IP's one hit
        activity_note(action="verify", email="late@example.com", ip="192.0.2.3")
    assert activity_sets(redis_client, action="verify") == {}


@pytest.fixture
def admin_client_(client):
    get_user_model().objects.create_superuser(username="root", email="root@example.com", password="x")
    client.force_login(get_user_model().objects.get(username="root"))
    return client


def test_admin_names_known_addresses_and_looks_one_up(admin_client_, settings):
    settings.ACCOUNTS_RATE_LIMITS_ENABLED = False
    admin_client_.post("/accounts/code/", {"email": "audited@example.com"}, REMOTE_ADDR="192.0.2.20")
    for _ in range(2):  # counted, but never audited (say, refused by the address's limit)
        activity_note(action="send", email="unaudited@example.com", ip="192.0.2.21")

    page = admin_client_.get("/admin/accounts/emailcaptcha/activity/")
    assert page.status_code == 200
    sends_by_email = page.context["hit_lists"][0]
    assert (activity_member("unaudited@example.com"), 2) in sends_by_email
    assert ("audited@example.com", 1) in sends_by_email
    assert b"unaudited@example.com" not in page.content

    found = admin_client_.get("/admin/accounts/emailcaptcha/activity/", {"email": " Unaudited@Example.com "})
    assert found.context["looked_up_hits"] == [2, 0]
    assert ("unaudited@example.com", 2) in found.context["hit_lists"][0]
    assert "unaudited@example.com: 2 requests to send a code, 0 to check one." in found.content.decode()
    assert activity_of(action="send", email="unaudited@example.com") == 2

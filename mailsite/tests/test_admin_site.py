"""The admin as staff meet it: mailsite's name in the header, a link to the delivery dashboard,
task results that cannot be added by hand, and an outbound email whose every field is read-only."""

import pytest
from django.core import mail

from notifications.models import OutboundEmail

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, user_factory):
    client.force_login(user_factory("staff", is_staff=True, is_superuser=True))
    return client


def test_the_header_names_mailsite_and_links_the_delivery_dashboard(staff_client):
    page = staff_client.get("/admin/").content.decode()
    assert "mailsite administration" in page
    assert "Django administration" not in page
    assert 'href="/admin/delivery/"' in page


def test_task_results_offer_no_add(staff_client):
    page = staff_client.get("/admin/django_celery_results/taskresult/").content.decode()
    assert "/admin/django_celery_results/taskresult/add/" not in page
    assert staff_client.get("/admin/django_celery_results/taskresult/add/").status_code == 403


def test_refused_recipients_and_mime_are_read_only(staff_client):
    mail.send_mail("Hello", "Text", None, ["reader@example.com"])
    row = OutboundEmail.objects.latest("pk")
    page = staff_client.get(f"/admin/notifications/outboundemail/{row.pk}/change/").content.decode()
    assert page.count("<textarea") == 0
    assert 'name="refused_recipients"' not in page and 'name="mime"' not in page


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_dashboard_names_the_rate_setting_as_it_is_spelled(staff_client, language):
    page = staff_client.get("/admin/delivery/", headers={"accept-language": language}).content.decode()
    assert "NOTIFICATIONS_MAX_RATE" in page
    assert "EMAIL_MAX_RATE" not in page.replace("NOTIFICATIONS_MAX_RATE", "")


def test_who_is_asking_for_codes_says_why_it_is_empty_without_redis(staff_client, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    page = staff_client.get("/admin/accounts/emailcaptcha/activity/").content.decode()
    assert "the hits are counted in Redis, and the default cache is not django-redis" in page

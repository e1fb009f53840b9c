"""accounts.0003 canonicalises existing rows, and stops, changing nothing, when two accounts
would collapse into one."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("accounts", "0002_emailcaptcha")]
AFTER = [("accounts", "0004_username_key_unique")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def old_state():
    apps = migrate(BEFORE)
    yield apps.get_model("accounts", "User")
    migrate(executor_leaf())


def executor_leaf():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def test_existing_rows_become_canonical(old_state):
    old_state.objects.create(username="Carol", email="Carol@ｇｍａｉｌ.com", password="!")
    old_state.objects.create(username="dave", email="dave@Bücher.de", password="!")
    User = migrate(AFTER).get_model("accounts", "User")
    assert sorted(User.objects.values_list("email", "username_key")) == [
        ("carol@gmail.com", "carol"),
        ("dave@xn--bcher-kva.de", "dave"),
    ]


def test_two_accounts_that_collapse_stop_the_migration(old_state):
    old_state.objects.create(username="carol", email="carol@gmail.com", password="!")
    old_state.objects.create(username="carol2", email="Carol@ｇｍａｉｌ.com", password="!")
    with pytest.raises(RuntimeError) as raised:
        migrate(AFTER)
    message = str(raised.value)
    assert "all have the address 'carol@gmail.com'" in message and "Nothing was changed" in message
    assert sorted(old_state.objects.values_list("email", flat=True)) == ["Carol@ｇｍａｉｌ.com", "carol@gmail.com"]
    old_state.objects.filter(username="carol2").delete()  # so the fixture can migrate forward again


BEFORE_QUOTED = [("accounts", "0009_second_factor")]
AFTER_QUOTED = [("accounts", "0010_quoted_local_parts")]


@pytest.fixture
def before_quoted():
    apps = migrate(BEFORE_QUOTED)
    yield apps
    migrate(executor_leaf())


def test_quoted_addresses_become_canonical(before_quoted):
    User = before_quoted.get_model("accounts", "User")
    User.objects.create(username="carol", username_key="carol", email='"Carol"@example.com', password="!")
    User.objects.create(username="dave", username_key="dave", email=r'"d\ave"@example.com', password="!")
    before_quoted.get_model("accounts", "EmailCaptcha").objects.create(
        email='"Carol"@example.com', purpose="login", expires_at="2026-01-01T00:00Z"
    )
    before_quoted.get_model("accounts", "Intent").objects.create(kind="reset", email='"Dave"@example.com')
    apps = migrate(AFTER_QUOTED)
    assert sorted(apps.get_model("accounts", "User").objects.values_list("email", flat=True)) == [
        "carol@example.com",
        "dave@example.com",
    ]
    assert apps.get_model("accounts", "EmailCaptcha").objects.get().email == "carol@example.com"
    assert apps.get_model("accounts", "Intent").objects.get().email == "dave@example.com"


def test_quoted_twins_stop_the_migration(before_quoted):
    User = before_quoted.get_model("accounts", "User")
    User.objects.create(username="carol", username_key="carol", email="carol@example.com", password="!")
    User.objects.create(username="carol2", username_key="carol2", email=r'"c\arol"@example.com', password="!")
    User.objects.create(username="lit", username_key="lit", email="lit@[192.0.2.1]", password="!")
    with pytest.raises(RuntimeError) as raised:
        migrate(AFTER_QUOTED)
    message = str(raised.value)
    assert "all have the address 'carol@example.com'" in message and "Nothing was changed" in message
    assert "'lit@[192.0.2.1]'" in message and "ACCOUNTS_ALLOW_ADDRESS_LITERALS_WITHOUT_DNS" in message
    assert sorted(User.objects.values_list("email", flat=True)) == [
        '"c\\arol"@example.com',
        "carol@example.com",
        "lit@[192.0.2.1]",
    ]
    User.objects.exclude(username="carol").delete()  # so the fixture can migrate forward again

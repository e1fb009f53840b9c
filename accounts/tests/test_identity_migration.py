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

"""Canonical addresses for rows stored before quoted local parts were unquoted and address
literals refused (see accounts.identity): `"Carol"@example.com` becomes `carol@example.com`.

Stops, changing nothing, if two accounts would collapse into one or an account's address has no
canonical form any more: which account keeps the mailbox is a decision for an operator, not for a
migration. Audit rows and waiting requests are rewritten where they can be and left as they are
where they cannot (nothing is sent to an audit row's address).
"""

from collections import defaultdict

from django.core.exceptions import ValidationError
from django.db import migrations

from accounts.identity import email_canonical


class IdentityConflict(RuntimeError):
    pass


def _problems(users):
    by_email, invalid = defaultdict(list), []
    for user in users:
        try:
            user.email = email_canonical(user.email)
        except ValidationError as error:
            invalid.append(f"  user {user.pk}: {user.email!r}: {error.messages[0]}")
        by_email[user.email].append(user.pk)
    return invalid + [
        f"  users {ids} all have the address {email!r}" for email, ids in by_email.items() if len(ids) > 1
    ]


def _rewrite(model):
    for pk, email in model.objects.values_list("pk", "email").iterator():
        try:
            canonical = email_canonical(email)
        except ValidationError:
            continue
        if canonical != email:
            model.objects.filter(pk=pk).update(email=canonical)


def canonicalise(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    # A project with a user model of its own has no accounts.User table (it is swapped out).
    users = [] if User._meta.swapped else list(User.objects.order_by("pk").only("pk", "email"))
    problems = _problems(users)
    if problems:
        raise IdentityConflict(
            "accounts.0010: these accounts cannot be given canonical addresses (a quoted local "
            "part is the same mailbox as the unquoted one) without merging or losing one:\n"
            + "\n".join(problems)
            + "\nChange the address of all but one of each group, and give an address that needs "
            "quotes or names an IP (set ACCOUNTS_ALLOW_ADDRESS_LITERALS_WITHOUT_DNS if you mean to "
            "keep those) another one, then run migrate again. Nothing was changed."
        )
    if users:
        User.objects.bulk_update(users, ["email"], batch_size=500)
    _rewrite(apps.get_model("accounts", "EmailCaptcha"))
    _rewrite(apps.get_model("accounts", "Intent"))


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0009_second_factor"),
    ]

    operations = [
        migrations.RunPython(canonicalise, migrations.RunPython.noop),
    ]

"""Canonical addresses and username keys for existing rows (see accounts.identity).

Stops, changing nothing, if two accounts would collapse into one or an address has no canonical
form: which account keeps the address is a decision for an operator, not for a migration.
"""

from collections import defaultdict

from django.core.exceptions import ValidationError
from django.db import migrations, models

from accounts.identity import email_canonical, username_key


class IdentityConflict(RuntimeError):
    pass


def _problems(users):
    by_email, by_key, invalid = defaultdict(list), defaultdict(list), []
    for user in users:
        try:
            user.email = email_canonical(user.email)
        except ValidationError as error:
            invalid.append(f"  user {user.pk}: {user.email!r}: {error.messages[0]}")
        by_email[user.email].append(user.pk)
        user.username_key = username_key(user.username)
        by_key[user.username_key].append(user.pk)
    lines = [f"  users {ids} all have the address {email!r}" for email, ids in by_email.items() if len(ids) > 1]
    lines += [f"  users {ids} all have the username {key!r}" for key, ids in by_key.items() if len(ids) > 1]
    return invalid + lines


def canonicalise(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    # A project with a user model of its own has no accounts.User table (it is swapped out).
    users = [] if User._meta.swapped else list(User.objects.order_by("pk"))
    problems = _problems(users)
    if problems:
        raise IdentityConflict(
            "accounts.0003: these accounts cannot be given canonical addresses and usernames "
            "without merging or losing one:\n"
            + "\n".join(problems)
            + "\nChange the address or username of all but one of each group (or fix the "
            "invalid address), then run migrate again. Nothing was changed."
        )
    if users:
        User.objects.bulk_update(users, ["email", "username_key"], batch_size=500)
    EmailCaptcha = apps.get_model("accounts", "EmailCaptcha")
    for row in EmailCaptcha.objects.iterator():
        try:
            canonical = email_canonical(row.email)
        except ValidationError:
            continue  # an audit record of an address that never had a code sent
        if canonical != row.email:
            EmailCaptcha.objects.filter(pk=row.pk).update(email=canonical)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_emailcaptcha"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="user", name="accounts_user_email_ci_unique"),
        migrations.RemoveConstraint(model_name="user", name="accounts_user_username_ci_unique"),
        migrations.AddField(
            model_name="user",
            name="username_key",
            field=models.CharField(editable=False, max_length=90, null=True, verbose_name="username key"),
        ),
        migrations.RunPython(canonicalise, migrations.RunPython.noop),
    ]

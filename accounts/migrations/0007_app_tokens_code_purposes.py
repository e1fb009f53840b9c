import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_user_sessions"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="emailcaptcha",
            name="purpose",
            field=models.CharField(
                choices=[
                    ("signup", "sign-up"),
                    ("login", "log-in"),
                    ("verify_email", "address confirmation after sign-up"),
                    ("password_reset", "password reset"),
                ],
                max_length=16,
                verbose_name="purpose",
            ),
        ),
        migrations.CreateModel(
            name="AppToken",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("key_hash", models.CharField(editable=False, max_length=64, unique=True)),
                ("auth_hash", models.CharField(blank=True, editable=False, max_length=128)),
                ("state", models.JSONField(blank=True, default=dict)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="created")),
                (
                    "last_used_at",
                    models.DateTimeField(db_index=True, default=django.utils.timezone.now, verbose_name="last used"),
                ),
                ("ip", models.GenericIPAddressField(blank=True, null=True, verbose_name="IP address")),
                ("user_agent", models.CharField(blank=True, max_length=200, verbose_name="user agent")),
                (
                    "user",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="app_tokens",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "app session",
                "verbose_name_plural": "app sessions",
            },
        ),
    ]

# A migration of its own: PostgreSQL will not alter a table that has pending row updates in the
# same transaction (0003 fills the column).
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_canonical_identity"),
    ]

    operations = [
        migrations.AlterField(
            model_name="user",
            name="username_key",
            field=models.CharField(editable=False, max_length=90, unique=True, verbose_name="username key"),
        ),
    ]

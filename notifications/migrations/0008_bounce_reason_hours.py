# The delivery dashboard's hourly bounce reasons (notifications/ops/rollup.py).

from django.db import migrations, models


def sums_drop(apps, schema_editor):
    """Hours summed before this migration have no bounce reasons: drop their sums, so beat's next
    rollup sums the week again with its reasons (until then the page counts live)."""
    apps.get_model("notifications", "DeliveryHour").objects.all().delete()


class Migration(migrations.Migration):

    dependencies = [
        ('notifications', '0007_delivery_hours'),
    ]

    operations = [
        migrations.CreateModel(
            name='BounceReasonHour',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('hour', models.DateTimeField(verbose_name='hour')),
                ('kind', models.CharField(blank=True, help_text='Hard, soft or unknown.', max_length=4, verbose_name='bounce')),
                ('reason', models.CharField(blank=True, max_length=120, verbose_name='reason')),
                ('n', models.PositiveIntegerField(default=0, verbose_name='count')),
            ],
            options={
                'verbose_name': 'bounce reason hour',
                'verbose_name_plural': 'bounce reason hours',
                'constraints': [models.UniqueConstraint(fields=('hour', 'kind', 'reason'), name='bounce_reason_hour_unique')],
            },
        ),
        migrations.RunPython(sums_drop, migrations.RunPython.noop),
    ]

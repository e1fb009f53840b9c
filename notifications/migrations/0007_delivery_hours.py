# The delivery dashboard's hourly sums (notifications/ops/rollup.py).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('notifications', '0006_ops_indexes'),
    ]

    operations = [
        migrations.CreateModel(
            name='DeliveryHour',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('hour', models.DateTimeField(verbose_name='hour')),
                ('provider', models.CharField(blank=True, max_length=50, verbose_name='provider')),
                ('outcome', models.CharField(max_length=16, verbose_name='outcome')),
                ('n', models.PositiveIntegerField(default=0, verbose_name='count')),
                ('through', models.DateTimeField(help_text='What happened before this moment is counted: the whole hour, or its start.', verbose_name='counted through')),
            ],
            options={
                'verbose_name': 'delivery hour',
                'verbose_name_plural': 'delivery hours',
                'constraints': [models.UniqueConstraint(fields=('hour', 'provider', 'outcome'), name='delivery_hour_unique')],
            },
        ),
    ]

# Indexes for the operations dashboard, the alerts and retention (one per query they run).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('notifications', '0005_outbox_claims'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='emailevent',
            index=models.Index(fields=['event_type', 'occurred_at'], name='email_event_type_time_idx'),
        ),
        migrations.AddIndex(
            model_name='emailevent',
            index=models.Index(fields=['received_at'], name='email_event_received_idx'),
        ),
        migrations.AddIndex(
            model_name='outboundemail',
            index=models.Index(fields=['status', 'created_at'], name='outbox_status_created_idx'),
        ),
        migrations.AddIndex(
            model_name='outboundemail',
            index=models.Index(fields=['sent_at'], name='outbox_sent_idx'),
        ),
        migrations.AddIndex(
            model_name='outboundemail',
            index=models.Index(fields=['status', 'updated_at'], name='outbox_status_updated_idx'),
        ),
        migrations.AddIndex(
            model_name='outboundemail',
            index=models.Index(condition=models.Q(('payload', {}), ('payload_encrypted', ''), _negated=True), fields=['created_at'], name='outbox_content_idx'),
        ),
    ]

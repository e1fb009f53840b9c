"""manage.py outbox_cleanup: retention on demand (the beat task does it every ten minutes).

manage.py outbox_cleanup             # what the retention settings say, to the end
manage.py outbox_cleanup --days 30   # also delete finished rows older than 30 days now
"""

from django.core.management.base import BaseCommand, CommandError

from notifications.ops import retention


class Command(BaseCommand):
    help = "Drop old outbox content, events and rows as the retention settings say (failed rows are kept)."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, help="delete finished outbox rows older than this many days")
        parser.add_argument("--batch-size", type=int, default=1000, help="rows per transaction (default 1000)")

    def handle(self, *args, days=None, batch_size=1000, **options):
        if days is not None and days < 0:
            raise CommandError("--days must be 0 or more.")
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        done = {}
        if days is not None:
            done["outbox_deleted"] = retention.outbox_purge(older_than=days, batch=batch_size)
        for key, value in retention.retention_apply(bounded=False, batch=batch_size).items():
            done[key] = done.get(key, 0) + value
        for key, value in done.items():
            self.stdout.write(f"{key.replace('_', ' ')}: {value}")

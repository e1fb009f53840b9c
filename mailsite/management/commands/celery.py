"""`manage.py celery <args>`: Celery's own command line, on this project's app.

python manage.py celery worker -l info
python manage.py celery beat
"""

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run Celery's command line (worker, beat, inspect, ...) on the mailsite app."

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.add_argument("celery_args", nargs="*", help="Arguments for Celery, e.g. worker -l info")
        return parser

    def run_from_argv(self, argv):
        # Everything after "celery" belongs to Celery, flags included.
        from mailsite.celery import app

        app.start(argv=["-A", "mailsite", *argv[2:]])

    def handle(self, *args, **options):  # pragma: no cover - run_from_argv handles the CLI
        from mailsite.celery import app

        app.start(argv=["-A", "mailsite", *options["celery_args"]])

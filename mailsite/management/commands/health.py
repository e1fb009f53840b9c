"""`manage.py health`: the health checks from the command line, for probes and people.

python manage.py health                   every component, as /healthz/deep shows them
python manage.py health broker beat       only those (database, cache, migrations, broker, beat, workers)
python manage.py health --process worker  this container's worker: its heartbeat file is fresh
python manage.py health --process beat    this container's beat: its heartbeat file is fresh

Exits 0 when every check is ok, 1 otherwise, with one line per check. --process reads only a
file its own process writes, so a worker's or beat's container probe never fails (and restarts it)
because Redis, the broker or the database is down: those have probes of their own.
"""

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from mailsite import health


class Command(BaseCommand):
    help = "Check the site's components (exit 1 if one fails); --process checks this container's worker or beat."

    def add_arguments(self, parser):
        names = [*health.READINESS, *health.COMPONENTS]
        parser.add_argument("checks", nargs="*", choices=[[], *names], metavar="check", help=", ".join(names))
        parser.add_argument("--process", choices=["worker", "beat"], help="check this container's own process")

    def handle(self, *args, checks, process, **options):
        if process:
            results = self.process_checks(process)
        else:
            every = {**health.READINESS, **health.COMPONENTS}
            results = health.run_checks({name: every[name] for name in checks or every})
        for name, result in results.items():
            self.stdout.write(f"{name}: {result}")
        failed = [name for name, result in results.items() if result != "ok"]
        if failed:
            raise CommandError(f"failed: {', '.join(failed)}")

    def process_checks(self, process):
        limit = settings.HEALTH_WORKER_MAX_AGE if process == "worker" else settings.HEALTH_BEAT_MAX_AGE
        pattern = "worker-*" if process == "worker" else "beat"
        files = sorted(health.heartbeat_dir().glob(pattern)) if health.heartbeat_dir().is_dir() else []
        if not files:
            return {process: f"failed (no heartbeat file in {health.heartbeat_dir()})"}
        # The newest: a container runs one such process (an older file is a former node name's).
        age = time.time() - max(path.stat().st_mtime for path in files)
        return {process: "ok" if age <= limit else f"failed (last heartbeat {age:.0f}s ago, limit {limit}s)"}

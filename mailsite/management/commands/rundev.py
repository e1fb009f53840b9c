"""`manage.py rundev`: the web server, a Celery worker and beat together, for development.

Each runs in its own process group; Ctrl-C (or SIGTERM) stops all three, including the
autoreloader's child process of runserver.
"""

import os
import signal
import subprocess
import sys
import time

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the development web server with a Celery worker and beat beside it."

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args, addrport, **options):
        manage = [sys.executable, "manage.py"]
        commands = [
            [*manage, "celery", "worker", "-l", "info"],
            [*manage, "celery", "beat", "-l", "info"],
            [*manage, "runserver", addrport],
        ]
        children = [subprocess.Popen(command, start_new_session=True) for command in commands]
        stopping = []
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, lambda *_: stopping.append(True))
        try:
            while not stopping and all(child.poll() is None for child in children):
                time.sleep(0.3)
        finally:
            self.stdout.write("Stopping the web server, worker and beat...")
            self._stop(children)

    def _stop(self, children, grace=10.0):
        for child in children:
            child.send_signal(signal.SIGTERM)  # the main process only: Celery stops its pool itself
        deadline = time.monotonic() + grace
        for child in children:
            try:
                child.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            self._signal(child, signal.SIGKILL)  # what is left of the group: runserver's reloader child

    @staticmethod
    def _signal(child, signum):
        try:
            os.killpg(child.pid, signum)
        except ProcessLookupError:
            pass

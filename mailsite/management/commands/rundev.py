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

# The start of Celery's SecurityWarning (celery.platforms.ROOT_DISCOURAGED), up to its first colon:
# a -W filter matches a message's beginning, and its fields are separated by colons.
ROOT_WARNING = "You're running the worker with superuser privileges"


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
        children = [subprocess.Popen(command, start_new_session=True, env=self._env()) for command in commands]
        stopping = []
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, lambda *_: stopping.append(True))
        try:
            while not stopping and all(child.poll() is None for child in children):
                time.sleep(0.3)
        finally:
            self.stdout.write("Stopping the web server, worker and beat...")
            self._stop(children)

    @staticmethod
    def _env():
        """The children's environment. Celery warns a worker started as root (as in many containers)
        on every start; on a developer's machine that is noise nobody acts on, so it is silenced
        here, and only here."""
        env = dict(os.environ)
        quiet = f"ignore:{ROOT_WARNING}"
        env["PYTHONWARNINGS"] = ",".join(filter(None, [env.get("PYTHONWARNINGS", ""), quiet]))
        return env

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

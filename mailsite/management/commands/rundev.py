"""`manage.py rundev`: the web server, a Celery worker and beat together, for development.

Each runs in its own process group; Ctrl-C (or SIGTERM) stops all three, including the
autoreloader's child process of runserver.

SITE_URL (the address mail links point at) follows the address given, unless it is set. The log
says what a developer acts on, by -v (`make run VERBOSITY=...`):
  0  warnings and errors
  1  and one line per email and per request (the default)
  2  and Celery's worker and beat lines, runserver's own request lines, the autoreloader's
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
# What verbosity 1 leaves out, as LOG_LEVELS (mailsite/settings.py): Celery's lines about its own
# work (a task received, succeeded, sent by beat), runserver's second line per request (ours,
# mailsite.request, carries the request id and the route), and the autoreloader's.
QUIET_LOG_LEVELS = "celery=WARNING,kombu=WARNING,django.server=ERROR,django.utils.autoreload=WARNING"


def site_url(addrport):
    """The URL runserver answers at for its addrport argument ("8001", "0.0.0.0:8001", "[::1]:8001")."""
    host, _, port = addrport.rpartition(":")
    if not host:
        host = "127.0.0.1"
    elif host in ("0.0.0.0", "0", "[::]"):  # noqa: S104 (read, not bound: every interface, so loopback reaches it)
        host = "127.0.0.1"
    return f"http://{host}:{port}"


class Command(BaseCommand):
    help = "Run the development web server with a Celery worker and beat beside it."

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args, addrport, verbosity, **options):
        manage = [sys.executable, "manage.py"]
        level = "warning" if verbosity == 0 else "info"
        quiet = [] if verbosity >= 2 else ["--quiet"]  # the worker's start-up banner
        commands = [
            [*manage, "celery", *quiet, "worker", "-l", level],
            [*manage, "celery", *quiet, "beat", "-l", level],
            [*manage, "runserver", addrport, "-v", str(verbosity)],
        ]
        env = self._env(addrport, verbosity)
        self.stdout.write(f"rundev: SITE_URL={env['SITE_URL']}, log verbosity {verbosity} (-v 0 to 2)")
        children = [subprocess.Popen(command, start_new_session=True, env=env) for command in commands]
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
    def _env(addrport="127.0.0.1:8000", verbosity=1):
        """The children's environment. Celery warns a worker started as root (as in many containers)
        on every start; on a developer's machine that is noise nobody acts on, so it is silenced
        here, and only here."""
        env = dict(os.environ)
        quiet = f"ignore:{ROOT_WARNING}"
        env["PYTHONWARNINGS"] = ",".join(filter(None, [env.get("PYTHONWARNINGS", ""), quiet]))
        env.setdefault("SITE_URL", site_url(addrport))
        if verbosity == 0:
            env.setdefault("LOG_LEVEL", "WARNING")
        if verbosity <= 1:
            env.setdefault("LOG_LEVELS", QUIET_LOG_LEVELS)
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

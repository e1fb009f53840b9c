"""The real processes a benchmark runs against: SMTP sink, Celery workers, web servers.

Every process starts in its own session and is registered here, so `stop_all()` (called on exit,
Ctrl-C included) ends each one and its children, and nothing outlives the run.
"""

import ctypes
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
_running = []


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Process:
    """A child process with its output in a log file."""

    ready_marker = None
    stop_signal = signal.SIGTERM

    def __init__(self, name, argv, env, log_path, stdin=None):
        self.name = name
        self.argv = argv
        self.env = env
        self.log_path = Path(log_path)
        self.stdin = stdin
        self.proc = None

    @property
    def pid(self):
        return self.proc.pid

    def start(self):
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.argv,
                cwd=BASE_DIR,
                env=self.env,
                stdin=self.stdin,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        _running.append(self)
        return self

    def log(self, tail=4000):
        try:
            text = self.log_path.read_text(errors="replace")
            return text[-tail:] if tail else text
        except FileNotFoundError:
            return ""

    def wait_ready(self, timeout=60.0):
        deadline = time.monotonic() + timeout
        while not self.is_ready():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not start:\n{self.log()}")
            time.sleep(0.05)
        return self

    def is_ready(self):
        return self.ready_marker.encode() in self.log_path.read_bytes()

    def stop(self, grace=3.0):
        """`stop_signal` to its whole session, SIGKILL after `grace` seconds."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            _signal_group(self.proc.pid, self.stop_signal)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                pass
        _signal_group(self.proc.pid, signal.SIGKILL)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            pass
        if self.stdin is subprocess.PIPE and self.proc.stdin:
            self.proc.stdin.close()
        if self in _running:
            _running.remove(self)


def _die_with_parent():
    """In the child: be killed if the benchmark process dies without cleaning up (Linux)."""
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _signal_group(pid, sig):
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def stop_all():
    for process in list(reversed(_running)):
        process.stop(grace=1.0)


def start_all(processes, timeout=60.0):
    """Start several processes at once and wait until each is ready."""
    for process in processes:
        process.start()
    for process in processes:
        process.wait_ready(timeout)
    return processes


# ------------------------------------------------------------------------------------------------
# SMTP sink
# ------------------------------------------------------------------------------------------------
class Sink(Process):
    """bench.smtpsink in its own process; arrivals are read back from its log file."""

    def __init__(self, workdir, name="sink", delay=0.0, tls=None, env=None):
        self.port = free_port()
        self.arrivals_path = Path(workdir) / f"{name}-arrivals.log"
        self.arrivals_path.write_text("")
        argv = [sys.executable, "-m", "bench.smtpsink", "--port", str(self.port), "--log", str(self.arrivals_path)]
        argv += ["--delay", str(delay)]
        if tls:
            argv += ["--cert", str(tls.cert), "--key", str(tls.key)]
        self.tls = tls
        super().__init__(name, argv, env or dict(os.environ), Path(workdir) / f"{name}.log", stdin=subprocess.PIPE)
        self._offset = 0
        self._arrivals = []

    def is_ready(self):
        return b"ready" in self.log_path.read_bytes()

    @property
    def url(self):
        scheme = "smtp+tls" if self.tls else "smtp"
        return f"{scheme}://{'localhost' if self.tls else '127.0.0.1'}:{self.port}"

    def set_delay(self, seconds):
        before = self.log().count("delay-set")
        self.proc.stdin.write(f"delay {seconds}\n".encode())
        self.proc.stdin.flush()
        deadline = time.monotonic() + 10
        while self.log().count("delay-set") <= before and time.monotonic() < deadline:
            time.sleep(0.01)

    def arrivals(self):
        """[(unix time, recipients)] of every message accepted so far."""
        with open(self.arrivals_path, "rb") as log:
            log.seek(self._offset)
            data = log.read()
        end = data.rfind(b"\n") + 1
        for line in data[:end].decode("ascii").splitlines():
            stamp, _, rcpts = line.partition(" ")
            self._arrivals.append((float(stamp), rcpts))
        self._offset += end
        return self._arrivals

    def count(self):
        return len(self.arrivals())

    def wait_for(self, count, timeout, poll=0.05):
        deadline = time.monotonic() + timeout
        while self.count() < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name}: {self.count()} of {count} message(s) arrived in {timeout:.0f}s")
            time.sleep(poll)
        return self._arrivals


# ------------------------------------------------------------------------------------------------
# Celery worker and web servers
# ------------------------------------------------------------------------------------------------
class Worker(Process):
    """One `celery worker --pool=solo` process: one process, one transport connection."""

    ready_marker = " ready."
    stop_signal = signal.SIGQUIT  # cold shutdown: a benchmark never waits for a task to finish

    def __init__(self, workdir, env, name="worker", queues=None, count_queries=False, pool="solo", concurrency=1):
        main = "bench.countingworker" if count_queries else "celery"
        argv = [sys.executable, "-m", main, "-A", "mailsite", "worker", f"--pool={pool}", "-l", "info"]
        argv += [f"--concurrency={concurrency}"]
        argv += ["--without-heartbeat", "--without-mingle", "--without-gossip", "-n", f"{name}-{os.getpid()}@%h"]
        if queues:
            argv += ["-Q", ",".join(queues)]
        super().__init__(name, argv, env, Path(workdir) / f"{name}.log")

    def pause(self):
        os.kill(self.pid, signal.SIGSTOP)

    def resume(self):
        os.kill(self.pid, signal.SIGCONT)

    def queries(self):
        """{task name: [queries of each run]} as printed by bench.countingworker."""
        found = {}
        for name, count in re.findall(r"bench-queries (\S+) (\d+)", self.log(tail=None)):
            found.setdefault(name, []).append(int(count))
        return found

    def memory(self):
        """(VmRSS, VmHWM) of the worker process in bytes."""
        found = {}
        with open(f"/proc/{self.pid}/status") as status:
            for line in status:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    found[key] = int(value.split()[0]) * 1024
        return found["VmRSS"], found["VmHWM"]


class Gunicorn(Process):
    """gunicorn serving `app` (a WSGI path) on a loopback port with sync workers."""

    def __init__(self, workdir, env, app, name="web", workers=2):
        self.port = free_port()
        argv = [sys.executable, "-m", "gunicorn", app, "-b", f"127.0.0.1:{self.port}", "-w", str(workers)]
        argv += ["--worker-class", "sync", "--log-level", "info"]
        super().__init__(name, argv, env, Path(workdir) / f"{name}.log")

    def is_ready(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return b"Booting worker" in self.log_path.read_bytes()
        except OSError:
            return False

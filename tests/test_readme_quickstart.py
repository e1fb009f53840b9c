"""The README's quick-start block, run as a newcomer types it, in a fresh clone of the repository.

`make run` starts in the background until the site answers; each other line then runs as written
(`createsuperuser` in a terminal, its prompts answered), and Ctrl-C stops everything.

To stay offline and fast, the clone's `.venv` is a link to this checkout's installed `.venv`, and
the clone's requirement files are dated before its install stamp, so `make` has nothing to install.
The environment is a newcomer's: no SECRET_KEY, DATABASE_URL or REDIS_URL (SQLite, a filesystem
broker and a file cache under the clone's var/). What is tested is the committed tree (git clone).
"""

import os
import pty
import re
import select
import shutil
import signal
import subprocess
import time
import urllib.request

from testing.fixtures import BASE_DIR, service_missing
from testing.servers import free_port

START_TIMEOUT = 240.0  # seconds for `make run` to answer (migrations on a fresh SQLite file)
COMMAND_TIMEOUT = 120.0  # seconds for one typed command
PROMPTS = [  # createsuperuser's questions, and a newcomer's answers
    ("Username", "admin"),
    ("Email address", "admin@example.com"),
    ("Password (again)", "correct-horse-battery-9"),
    ("Password", "correct-horse-battery-9"),
]


def quickstart_commands():
    readme = (BASE_DIR / "README.md").read_text()
    section = readme.split("## Quick start", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    commands = [line.split("  #", 1)[0].strip() for line in block.splitlines()]
    return [command for command in commands if command and not command.startswith("#")]


def test_the_quick_start_block_is_what_a_newcomer_needs():
    commands = quickstart_commands()
    assert commands[0] == "make run"
    assert ".venv/bin/python manage.py sendtestemail you@example.com" in commands
    assert ".venv/bin/python manage.py createsuperuser" in commands


def _clone(tmp_path):
    venv = (BASE_DIR / ".venv").resolve()
    if not (venv / ".installed").is_file() or not shutil.which("git") or not shutil.which("make"):
        service_missing("the README test needs git, make and an installed .venv (run `make install`)")
    clone = tmp_path / "mailsite"
    subprocess.run(["git", "clone", "--quiet", str(BASE_DIR), str(clone)], check=True, timeout=120)
    (clone / ".venv").symlink_to(venv)
    stamp = (venv / ".installed").stat().st_mtime
    for name in ("requirements.txt", "requirements-dev.txt"):
        os.utime(clone / name, (stamp - 3600, stamp - 3600))
    return clone


def _newcomer_env(port):
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "TERM") if key in os.environ}
    # Another address than 127.0.0.1:8000, which a developer's own `make run` may hold.
    env.update(ADDRPORT=f"127.0.0.1:{port}", SITE_URL=f"http://127.0.0.1:{port}", PYTHONUNBUFFERED="1")
    return env


def _get(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read().decode()


def _wait_for_site(url, server, log_path):
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            break
        try:
            return _get(url)
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"`make run` did not answer at {url}:\n{log_path.read_text()[-4000:]}")


def _run_in_terminal(command, cwd, env):
    """Run `command` on a pseudo-terminal, answering PROMPTS; returns (exit status, output)."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: exec, or leave at once
        try:
            os.chdir(cwd)
            os.execve("/bin/sh", ["/bin/sh", "-c", command], env)
        finally:
            os._exit(127)
    output, line = b"", b""
    deadline = time.monotonic() + COMMAND_TIMEOUT
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 1.0)
        if not ready:
            continue
        try:
            data = os.read(fd, 1024)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        output += data
        line = (line + data).rsplit(b"\n", 1)[-1]
        for prompt, answer in PROMPTS:
            if line.strip().startswith(prompt.encode()) and line.rstrip().endswith(b":"):
                os.write(fd, answer.encode() + b"\n")
                line = b""
                break
    else:
        os.kill(pid, signal.SIGKILL)
    _pid, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), output.decode(errors="replace")


def _stop(server):
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGINT)  # Ctrl-C in the terminal: the whole foreground group
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(10)


def test_every_quick_start_command_works_as_written(tmp_path):
    clone = _clone(tmp_path)
    port = free_port()
    env = _newcomer_env(port)
    site = f"http://127.0.0.1:{port}"
    commands = quickstart_commands()
    log_path = tmp_path / "make-run.log"

    with open(log_path, "wb") as log:
        server = subprocess.Popen(
            ["/bin/sh", "-c", commands[0]],
            cwd=clone,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        assert _wait_for_site(f"{site}/", server, log_path)[0] == 200
        assert (clone / ".env").is_file() and "DEBUG=1" in (clone / ".env").read_text()
        hint = re.search(r"<code>([^<]+)</code>", _get(f"{site}/dev/mailbox/")[1]).group(1)
        assert hint in commands, "the empty mailbox's hint is a command the README runs"

        for command in commands[1:]:
            status, output = _run_in_terminal(command, clone, env)
            assert status == 0, f"{command!r} failed:\n{output}"
            assert "SECRET_KEY is not set" not in output

        deadline = time.monotonic() + COMMAND_TIMEOUT
        while "email to you@example.com" not in log_path.read_text() and time.monotonic() < deadline:
            time.sleep(0.5)
        log_text = log_path.read_text()
        line = next((line for line in log_text.splitlines() if "email to you@example.com" in line), "")
        assert re.search(rf'"Test email from [^"]+"\s+{re.escape(site)}/dev/mailbox/\d+/$', line), log_text[-4000:]
        assert "you@example.com" in _get(f"{site}/dev/mailbox/")[1]
        for noise in ("No hostname was supplied", "superuser privileges", "Content-Transfer-Encoding"):
            assert noise not in log_text, noise

        count = (
            "from django.contrib.auth import get_user_model as m; print(m().objects.filter(is_superuser=True).count())"
        )
        check = subprocess.run(
            [".venv/bin/python", "manage.py", "shell", "-c", count],
            cwd=clone,
            env=env,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
        )
        assert check.returncode == 0 and check.stdout.strip().splitlines()[-1] == "1", check.stdout + check.stderr
    finally:
        _stop(server)
    assert server.returncode is not None

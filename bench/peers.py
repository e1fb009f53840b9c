"""The outboxes a user would pick instead of ours, each in a virtualenv built from pinned versions
(kept under var/bench-venvs/ between runs), against the same sink with the same messages.

Each peer queues COUNT messages (one send() per message, each in its own transaction), then one
process delivers them the peer's own way. Its rate is measured at the sink, first arrival to last.
"""

import hashlib
import subprocess
import sys
from pathlib import Path

from .procs import BASE_DIR, Process

VENVS = BASE_DIR / "var" / "bench-venvs"
DB = ["psycopg[binary]==3.3.9"]
PINS = {
    "post-office": ["Django==6.1.3", "django-post-office==3.12.0", *DB],
    "mailer": ["Django==6.1.3", "django-mailer==2.3.2", *DB],
    # django-celery-email 3.0 fails on Django 6.x; 5.2 is the newest it runs on.
    "celery-email": ["Django==5.2.8", "django-celery-email==3.0.0", "celery[redis]==5.7.0", "redis==8.1.0", *DB],
}
PEERS = {  # peer (as bench/peer_app.py names it) -> (virtualenv, label in the table)
    "postoffice": ("post-office", "django-post-office 3.12, defaults"),
    "postoffice-best": ("post-office", "django-post-office 3.12, best settings"),
    "mailer": ("mailer", "django-mailer 2.3"),
    "celery-email": ("celery-email", "django-celery-email 3.0 (Django 5.2)"),
}


def venv_python(name):
    """The virtualenv's python, built on first use from PINS[name]."""
    pins = PINS[name]
    path = VENVS / f"{name}-{hashlib.sha256(' '.join(pins).encode()).hexdigest()[:8]}"
    python = path / "bin" / "python"
    if not (path / ".installed").exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(path)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *pins], check=True, timeout=900)
        (path / ".installed").write_text("\n".join(pins) + "\n")
    return str(python)


def peer_rate(ctx, sink, peer, count):
    """emails/s of `peer` delivering `count` queued messages through one process."""
    from .environment import database_add, state_reset

    state_reset(ctx.env)  # the broker db too: celery-email publishes there
    python = venv_python(PEERS[peer][0])
    db_name = f"{ctx.env.database_url.rsplit('/', 1)[1]}_{peer.replace('-', '_')}"
    env = ctx.env.child(
        PEER=peer,
        SINK_PORT=sink.port,
        PEER_DATABASE_URL=database_add(ctx.env, db_name),
        SSL_CERT_FILE=sink.tls.cert,
    )
    run = [python, "bench/peer_app.py", peer]
    subprocess.run([*run, "migrate"], cwd=BASE_DIR, env=env, check=True, timeout=300)
    subprocess.run([*run, "queue", str(count)], cwd=BASE_DIR, env=env, check=True, timeout=900)
    before = sink.count()
    if peer == "celery-email":
        argv = [python, "-m", "celery", "-A", "bench.peer_app", "worker", "--pool=solo", "-Q", "peer", "-l", "warning"]
        argv += ["--without-heartbeat", "--without-mingle", "--without-gossip"]
        worker = Process(f"peer-{peer}", argv, env, Path(ctx.workdir) / f"peer-{peer}.log").start()
        try:
            arrivals = sink.wait_for(before + count, timeout=120 + count / 5)
        finally:
            worker.stop()
    else:
        with open(Path(ctx.workdir) / f"peer-{peer}.log", "ab") as log:
            subprocess.run([*run, "deliver"], cwd=BASE_DIR, env=env, check=True, stdout=log, stderr=log, timeout=1800)
        arrivals = sink.wait_for(before + count, timeout=30)
    return span_rate(arrivals[before : before + count])


def span_rate(arrivals):
    """Messages per second from the first arrival to the last (start-up costs left out alike)."""
    stamps = sorted(stamp for stamp, _rcpt in arrivals)
    seconds = stamps[-1] - stamps[0]
    return (len(stamps) - 1) / seconds if seconds > 0 else float("nan")

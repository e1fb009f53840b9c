"""A minimal Django project around one peer outbox, run inside that peer's own virtualenv.

    python bench/peer_app.py PEER queue COUNT     # COUNT messages, each send() in its own transaction
    python bench/peer_app.py PEER deliver         # the peer's own way to deliver its queue
    python -m celery -A bench.peer_app worker ... # PEER=celery-email: its worker

PEER is postoffice, postoffice-best, mailer or celery-email (also read from $PEER). The sink, the
database and the broker come from the environment: SINK_PORT, PEER_DATABASE_URL, REDIS_URL. The
messages are bench.mail's, the same as mailsite's.
"""

import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
SMTP = "django.core.mail.backends.smtp.EmailBackend"
PEERS = {
    "postoffice": {"apps": ["post_office"], "backend": "post_office.EmailBackend"},
    # Its best settings for throughput: big batches, no log row per message.
    "postoffice-best": {
        "apps": ["post_office"],
        "backend": "post_office.EmailBackend",
        "POST_OFFICE": {"BATCH_SIZE": 1000, "LOG_LEVEL": 0, "THREADS_PER_PROCESS": 5},
    },
    "mailer": {"apps": ["mailer"], "backend": "mailer.backend.DbBackend", "MAILER_EMAIL_BACKEND": SMTP},
    "celery-email": {"apps": ["djcelery_email"], "backend": "djcelery_email.backends.CeleryEmailBackend"},
}


def configure(peer):
    import django
    from django.conf import settings

    db = urlsplit(os.environ["PEER_DATABASE_URL"])
    spec = PEERS[peer]
    extra = {key: value for key, value in spec.items() if key.isupper()}
    settings.configure(
        SECRET_KEY="bench-peer",
        INSTALLED_APPS=["django.contrib.contenttypes", *spec["apps"]],
        DATABASES={
            "default": {
                "ENGINE": "django.db.backends.postgresql",
                "NAME": db.path.lstrip("/"),
                "USER": db.username or "postgres",
                "PASSWORD": db.password or "",
                "HOST": db.hostname or "127.0.0.1",
                "PORT": db.port or 5432,
                "CONN_MAX_AGE": 60,
            }
        },
        EMAIL_BACKEND=spec["backend"],
        CELERY_EMAIL_BACKEND=SMTP,
        EMAIL_HOST="localhost",
        EMAIL_PORT=int(os.environ["SINK_PORT"]),
        EMAIL_USE_TLS=True,
        DEFAULT_FROM_EMAIL="mailsite <noreply@mail.example.com>",
        TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}],
        USE_TZ=True,
        LOGGING_CONFIG=None,
        **extra,
    )
    django.setup()


def queue(count):
    from django.db import transaction

    from bench.mail import messages_build

    for message in messages_build(count):
        with transaction.atomic():
            message.send()


def deliver(peer):
    from django.core.management import call_command

    if peer.startswith("postoffice"):
        call_command("send_queued_mail", processes=1)
    elif peer == "mailer":
        call_command("send_mail")


PEER = os.environ.get("PEER") or (sys.argv[1] if len(sys.argv) > 1 else "")
if PEER == "celery-email" and __name__ != "__main__":  # imported by `celery -A bench.peer_app`
    configure(PEER)
    from celery import Celery

    app = Celery("peer", broker=os.environ["REDIS_URL"])
    app.conf.task_default_queue = "peer"
    app.autodiscover_tasks(["djcelery_email"], related_name="tasks", force=True)


if __name__ == "__main__":
    peer, mode = sys.argv[1], sys.argv[2]
    if peer == "celery-email":
        os.environ["PEER"] = peer
        from bench import peer_app  # noqa: F401  (configures Django and the Celery app)
    else:
        configure(peer)
    if mode == "migrate":
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
    elif mode == "queue":
        queue(int(sys.argv[3]))
    elif mode == "deliver":
        deliver(peer)

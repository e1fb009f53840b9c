"""The naive design, for comparison only: a code endpoint that talks to the mail server inside the
request, as the original Flask tutorials do (make a code, keep it in Redis, render the email,
open an SMTP connection and send). Served by gunicorn as `bench.naive:application`.

    POST /naive/code/  {"email": "...", "purpose": "signup"}  ->  202 {"sent": true}
"""

import json
import secrets

from django.core.wsgi import get_wsgi_application

get_wsgi_application()  # configures Django for this process

from django.conf import settings  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.core.exceptions import ValidationError  # noqa: E402
from django.core.mail import EmailMultiAlternatives  # noqa: E402
from django.core.validators import validate_email  # noqa: E402

from notifications.services import email_render  # noqa: E402


def _answer(start_response, status, body):
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def application(environ, start_response):
    if environ.get("PATH_INFO") != "/naive/code/" or environ.get("REQUEST_METHOD") != "POST":
        return _answer(start_response, "404 Not Found", {"error": "POST /naive/code/"})
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        data = json.loads(environ["wsgi.input"].read(length) or b"{}")
        email = str(data["email"])
        validate_email(email)
    except (ValueError, KeyError, TypeError, ValidationError):
        return _answer(start_response, "400 Bad Request", {"error": 'send {"email": ...}'})
    code = f"{secrets.randbelow(10**6):06d}"
    cache.set(f"naive-code:{email}", code, 600)
    subject, text, html = email_render(
        template="code", context={"code": code, "purpose": data.get("purpose", "signup"), "minutes": 10}
    )
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [email])
    message.attach_alternative(html, "text/html")
    message.send(using="transport")  # the request waits for the mail server
    return _answer(start_response, "202 Accepted", {"sent": True})

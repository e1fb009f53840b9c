"""Logs an operator can follow: a request id on every line logged while a request runs, and
LOG_FORMAT=json for one JSON object per line (with outbox_id, outbox_ids and
provider_message_id when the line is about an email).

The request id comes from a trusted X-Request-ID header (a proxy's) when it is well-formed, or is
made here; the response carries it back, so a user's report leads to the log lines.
"""

import contextvars
import json
import logging
import re
import time
import uuid

request_id_var = contextvars.ContextVar("request_id", default="-")
WELL_FORMED = re.compile(r"[A-Za-z0-9._-]{8,64}\Z")
EXTRA_FIELDS = ("request_id", "outbox_id", "outbox_ids", "provider_message_id")
logger = logging.getLogger("mailsite.request")


class RequestIdFilter(logging.Filter):
    def filter(self, record):
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True


class BrokerHostnameFilter(logging.Filter):
    """Drops kombu's "No hostname was supplied" warning: the filesystem broker (the development
    default) has no host, so the warning says nothing anyone can act on."""

    def filter(self, record):
        return not record.getMessage().startswith("No hostname was supplied")


class JsonFormatter(logging.Formatter):
    def format(self, record):
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in EXTRA_FIELDS:
            value = getattr(record, name, None)
            if value not in (None, "", "-"):
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)

    def formatTime(self, record, datefmt=None):  # noqa: N802 (logging's name)
        return time.strftime(datefmt, time.gmtime(record.created))


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.headers.get("X-Request-ID", "")
        request_id = given if WELL_FORMED.match(given) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.monotonic()
        try:
            response = self.get_response(request)
            # The route, not the path: a path may carry a token (confirm links, unsubscribe).
            route = getattr(request.resolver_match, "route", None) or "(no route)"
            logger.info(
                "%s %s %s %.0fms",
                request.method,
                route,
                response.status_code,
                (time.monotonic() - started) * 1000,
            )
            response["X-Request-ID"] = request_id
            return response
        finally:
            request_id_var.reset(token)

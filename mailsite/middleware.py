import logging

from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from accounts.api.problems import problem_response
from accounts.errors import RateLimitUnavailable
from accounts.ratelimit import unreachable_errors

logger = logging.getLogger(__name__)


class RejectNullCharactersMiddleware:
    """A NUL character in the query string is never meaningful here, and PostgreSQL refuses it in a
    query: answer 400 before any view looks it up. (Form fields refuse NUL through Django's
    ProhibitNullCharactersValidator; URL patterns only match what their views accept.)"""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if any("\x00" in key + value for key, value in request.GET.items()):
            message = "Null characters are not allowed in the address."
            if request.path.startswith("/api/"):  # the API answers every error as problem details
                return problem_response(400, message, code="null_character")
            return HttpResponseBadRequest(message)
        return self.get_response(request)


class ServiceUnavailableMiddleware:
    """Redis (rate limits, codes) out of reach: a 503 with Retry-After that says so, as a page or as
    JSON, instead of a bare 500. The view has stopped at the error, so nothing it would have done
    after it happened, and its open transaction was rolled back."""

    retry_after = 30  # seconds; a restarted Redis is usually back well within that

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, (RateLimitUnavailable, *unreachable_errors())):
            return None
        logger.error("503 for %s %s: %s", request.method, request.path, exception, exc_info=exception)
        message = _("The service is briefly unavailable. Please try again in a moment.")
        if "application/json" in request.headers.get("Accept", ""):
            body = {"error": "service_unavailable", "detail": message, "retry_after": self.retry_after}
            response = JsonResponse(body, status=503)
        else:
            html = render_to_string("503.html", {"message": message}, request=request)
            response = HttpResponse(html, status=503)
        response["Retry-After"] = str(self.retry_after)
        response["Cache-Control"] = "no-store"
        return response

from django.http import HttpResponseBadRequest


class RejectNullCharactersMiddleware:
    """A NUL character in the query string is never meaningful here, and PostgreSQL refuses it in a
    query: answer 400 before any view looks it up. (Form fields refuse NUL through Django's
    ProhibitNullCharactersValidator; URL patterns only match what their views accept.)"""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if any("\x00" in key + value for key, value in request.GET.items()):
            return HttpResponseBadRequest("Null characters are not allowed in the address.")
        return self.get_response(request)

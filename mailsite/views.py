from django.conf import settings
from django.http import FileResponse
from django.shortcuts import render
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

FAVICON = settings.BASE_DIR / "static" / "favicon.ico"


def home(request):
    return render(request, "home.html")


# Browsers ask for /favicon.ico on every page whatever the HTML says; answer it, cached for a day.
@require_safe
@cache_control(max_age=86400, public=True)
def favicon(request):
    return FileResponse(FAVICON.open("rb"), content_type="image/x-icon")

"""Email previews (/dev/emails/): every email the site sends, with sample data, in every language.
Like the dev mailbox, these pages exist only while DEBUG is on."""

from django.conf import settings
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.clickjacking import xframe_options_sameorigin

from .mailbox import html_for_frame
from .previews import email_preview_get, email_previews, email_template_folder, email_templates
from .views import MAIL_CSP, _dev_only


def _preview_or_404(name):
    preview = email_preview_get(name)
    if preview is None:
        raise Http404("No email preview by that name.")
    return preview


def _language_or_404(code):
    if code not in dict(settings.LANGUAGES):
        raise Http404("No such language.")
    return code


def _subject(preview, language):
    try:
        return preview.render(language=language)[0], ""
    except Exception as error:  # one broken template must not hide the others from the list
        return "", f"{type(error).__name__}: {error}"


def email_preview_list(request):
    _dev_only()
    previews = email_previews()
    rows = [
        {
            "preview": preview,
            "folder": email_template_folder(preview.template),
            "subjects": [(code, name, *_subject(preview, code)) for code, name in settings.LANGUAGES],
        }
        for preview in previews
    ]
    shown = {preview.template for preview in previews}
    missing = [email_template_folder(name) for name in email_templates() if name not in shown]
    return render(request, "notifications/email_preview_list.html", {"rows": rows, "missing": missing})


def email_preview_detail(request, name):
    _dev_only()
    preview = _preview_or_404(name)
    renderings = []
    for code, language_name in settings.LANGUAGES:
        subject, text, html = preview.render(language=code)
        renderings.append({"code": code, "name": language_name, "subject": subject, "text": text, "html": html})
    context = {
        "preview": preview,
        "folder": email_template_folder(preview.template),
        "renderings": renderings,
        "from_email": settings.DEFAULT_FROM_EMAIL,
    }
    return render(request, "notifications/email_preview_detail.html", context)


@xframe_options_sameorigin
def email_preview_html(request, name, language):
    _dev_only()
    preview = _preview_or_404(name)
    response = HttpResponse(html_for_frame(preview.render(language=_language_or_404(language))[2]))
    response["Content-Security-Policy"] = MAIL_CSP
    return response

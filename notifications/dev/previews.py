"""Email previews: every email the site can send, rendered with sample data (/dev/emails/).

Each app describes its own emails in an `email_previews.py` module, found with Django's
autodiscovery, so this app never imports the apps whose mail it shows:

    @email_preview(template="confirm")
    def confirm():
        return {"user": User(username="ada"), "link": ...}

A preview is rendered through `email_render`, the same function `email_send` uses, so what you see
is what is sent. Several previews may show one template (a log-in code and a sign-up code).
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.template import engines
from django.utils.module_loading import autodiscover_modules

from ..services import email_render

MODULE_NAME = "email_previews"


@dataclass(frozen=True)
class EmailPreview:
    name: str
    template: str
    sample: Callable[[], dict]
    description: str = ""

    def render(self, *, language):
        """(subject, text, html) in `language`, exactly as email_send would build them."""
        return email_render(template=self.template, context=self.sample(), language=language)


_registry: dict[str, EmailPreview] = {}
_discovered = False


def email_preview(*, template, name=None, description=""):
    """Register the decorated function as the sample context of a preview of `template`."""

    def register(sample):
        preview = EmailPreview(
            name=name or sample.__name__,
            template=template,
            sample=sample,
            description=description or (sample.__doc__ or "").strip(),
        )
        known = _registry.get(preview.name)
        if known is not None and _origin(known.sample) != _origin(sample):
            raise ValueError(
                f"Two email previews are named {preview.name!r}: {_origin(known.sample)}, {_origin(sample)}."
            )
        _registry[preview.name] = preview
        return sample

    return register


def _origin(function):
    return f"{function.__module__}.{function.__qualname__}"


def email_previews():
    """Every registered preview, sorted by template then name."""
    global _discovered
    if not _discovered:
        autodiscover_modules(MODULE_NAME)
        _discovered = True
    return sorted(_registry.values(), key=lambda preview: (preview.template, preview.name))


def email_preview_get(name):
    """The preview called `name`, or None."""
    return next((preview for preview in email_previews() if preview.name == name), None)


EMAIL_PARTS = ("subject.txt", "body.txt", "body.html")


def email_templates():
    """Names of the email templates on disk: every email/<name>/ holding any of the three parts, in
    the project's template folders and the apps' (the shared layout is email/layout/base.html)."""
    names = set()
    for directory in _template_directories():
        for part in EMAIL_PARTS:
            names.update(path.parent.name for path in Path(directory, "email").glob(f"*/{part}"))
    return sorted(names)


def email_template_folder(name):
    """Where email/<name>/ is found (the folder whose parts the site renders): relative to the
    project when it is inside it, e.g. accounts/templates/email/confirm/."""
    from django.conf import settings as django_settings

    for directory in _template_directories():
        folder = Path(directory, "email", name)
        if any((folder / part).exists() for part in EMAIL_PARTS):
            base = Path(getattr(django_settings, "BASE_DIR", Path.cwd()))
            try:
                return f"{folder.resolve().relative_to(base.resolve())}/"
            except ValueError:
                return f"{folder}/"
    return f"email/{name}/"


def _template_directories():
    for engine in engines.all():
        yield from getattr(engine, "template_dirs", ())

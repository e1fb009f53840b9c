"""The documentation: it builds with no warning, its settings page names every setting the apps
read, and the README and the pages name only files, make targets and management commands that
exist."""

import re
import subprocess
import sys

import pytest
from django.core.management import get_commands

from testing.fixtures import BASE_DIR

APPS = ("accounts", "notifications")
PAGES = [BASE_DIR / "README.md", *sorted((BASE_DIR / "docs").glob("*.md"))]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("docs")
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-n", "-q", "-b", "text", "docs", str(out)],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def settings_read(app):
    names = set()
    for path in (BASE_DIR / app).rglob("*.py"):
        if "tests" in path.parts or "migrations" in path.parts:
            continue
        text = path.read_text()
        names |= set(re.findall(r"\bsettings\.([A-Z][A-Z0-9_]+)", text))
        names |= set(re.findall(r"getattr\(settings, \"([A-Z][A-Z0-9_]+)\"", text))
    return names


@pytest.mark.parametrize("app", APPS)
def test_every_setting_the_app_reads_is_on_the_settings_page(app, built):
    page = (BASE_DIR / "docs" / "settings.md").read_text() + (
        BASE_DIR / "docs" / "_generated" / f"settings-{app}.md"
    ).read_text()
    missing = sorted(name for name in settings_read(app) if name not in page)
    assert missing == []


def code_spans():
    for path in PAGES:
        text = path.read_text()
        for span in re.findall(r"`([^`\n]+)`", text):
            yield path.name, span
        for block in re.findall(r"```(?:sh|bash)?\n(.*?)```", text, re.S):
            for line in block.splitlines():
                yield path.name, line.split("  #", 1)[0].strip()


def make_targets():
    return set(re.findall(r"^([a-z][a-z-]*):", (BASE_DIR / "Makefile").read_text(), re.M))


FILE = re.compile(
    r"^(?:\./)?([A-Za-z0-9_.-]+/)*[A-Za-z0-9_-]+\.(py|md|txt|toml|json|yml|yaml|png|po|html|css|ini|example)$"
)


# A path may be written from the top of the checkout, of docs/, of an app, or of a templates folder.
ROOTS = [
    BASE_DIR,
    BASE_DIR / "docs",
    *(BASE_DIR / app for app in APPS),
    *BASE_DIR.glob("*/templates"),
    BASE_DIR / "templates",
]


def exists(word):
    return any((root / word).exists() for root in ROOTS)


def test_the_pages_name_only_files_that_exist():
    missing = set()
    for page, span in code_spans():
        # The first path of a span: a command's own script, not the input file it is given.
        paths = [word.strip("(),:;'\"") for word in span.split()]
        paths = [word for word in paths if FILE.match(word) and "/" in word and not word.startswith(("/", "http"))]
        if paths and not exists(paths[0]):
            missing.add((page, paths[0]))
    for path in PAGES:
        for target in re.findall(r"\]\(((?!https?:|#|mailto:|path:)[^)\s]+)\)", path.read_text()):
            if not (path.parent / target.split("#")[0]).exists() and not target.endswith(".html"):
                missing.add((path.name, target))
    assert sorted(missing) == []


def test_the_pages_name_only_make_targets_and_commands_that_exist():
    targets, commands = make_targets(), set(get_commands())
    missing = set()
    for page, span in code_spans():
        for target in re.findall(r"(?:^|\s)make ([a-z][a-z-]*)", span):
            if target not in targets:
                missing.add((page, f"make {target}"))
        for command in re.findall(r"manage\.py ([a-z_]+)", span):
            if command not in commands:
                missing.add((page, f"manage.py {command}"))
    assert sorted(missing) == []


def test_the_readme_fits_on_a_screen_and_says_once_how_to_use_the_virtualenv():
    readme = (BASE_DIR / "README.md").read_text()
    assert len(readme.encode()) < 10 * 1024
    assert readme.count("(The screenshots are taken") == 1
    assert ". .venv/bin/activate" in readme

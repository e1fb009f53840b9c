"""The rules of the apps' layout, checked on the source: no import cycles, domain code never
imports tasks.py, and every error an app defines derives from the app's one base class."""

import ast
import importlib
import inspect

import pytest

from accounts.errors import AccountsError
from notifications.errors import NotificationsError
from testing.fixtures import BASE_DIR

APPS = {"accounts": AccountsError, "notifications": NotificationsError}
# Modules allowed to import tasks.py: the app config registers the tasks in every process.
TASK_IMPORTERS = {"apps", "tasks"}


def app_modules(app):
    """{dotted name: path} of the app's modules, without tests and migrations."""
    root = BASE_DIR / app
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(BASE_DIR).with_suffix("").parts
        if "tests" in parts or "migrations" in parts:
            continue
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    return modules


def imported_names(name, path, *, top_level_only):
    """The modules `name` imports, resolved to absolute dotted names."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else ast.walk(tree)
    for node in nodes:
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            yield target
            yield from (f"{target}.{alias.name}" for alias in node.names)


def import_graph():
    modules = {name: path for app in APPS for name, path in app_modules(app).items()}
    return {
        name: {target for target in imported_names(name, path, top_level_only=True) if target in modules} - {name}
        for name, path in modules.items()
    }


def test_no_module_of_the_apps_takes_part_in_an_import_cycle():
    graph = import_graph()
    cycles = []

    def visit(name, path):
        for target in sorted(graph[name]):
            if target in path:
                cycles.append(" -> ".join([*path[path.index(target) :], target]))
            elif target not in done:
                visit(target, [*path, target])
        done.add(name)

    done = set()
    for name in sorted(graph):
        visit(name, [name])
    assert cycles == []


@pytest.mark.parametrize("app", sorted(APPS))
def test_domain_code_never_imports_tasks(app):
    importers = [
        name
        for name, path in app_modules(app).items()
        if name.rpartition(".")[2] not in TASK_IMPORTERS
        and f"{app}.tasks" in imported_names(name, path, top_level_only=False)
    ]
    assert importers == [], "publish by task name instead (current_app.signature)"


@pytest.mark.parametrize("app", sorted(APPS))
def test_every_error_of_an_app_derives_from_its_base_class(app):
    base = APPS[app]
    errors = set()
    for name in app_modules(app):
        module = importlib.import_module(name)
        errors.update(
            cls
            for _, cls in inspect.getmembers(module, inspect.isclass)
            if issubclass(cls, BaseException)
            and cls.__module__ == name
            # a stand-in for botocore's class when the amazon-ses extra is missing
            and cls.__name__ != "BotoConnectionError"
        )
    assert errors, "no error classes found: the walk is broken"
    assert sorted(cls.__qualname__ for cls in errors if not issubclass(cls, base)) == []

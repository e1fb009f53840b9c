"""Pages generated from the code at every build, so that they cannot go stale:

- `_generated/settings-<app>.md`: every setting in the app's `conf.py` DEFAULTS, with its default
  and the comment written above it there;
- `_generated/api-reference.md` and `_generated/extra/openapi.json`: the OpenAPI document that
  django-ninja makes from the API's code, rendered operation by operation, and the file itself.
"""

import ast
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("accounts", "notifications")


# ------------------------------------------------------------------------------------------------
# Settings
# ------------------------------------------------------------------------------------------------
def _callable_defaults(tree):
    """name -> the expression a callable default returns (`def _send_lease(s): return ...`)."""
    found = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and isinstance(node.body[-1], ast.Return):
            found[node.name] = ast.unparse(node.body[-1].value).replace("s.", "")
    return found


def settings_groups(app):
    """[(comment, [(name, default text)])] of the app's DEFAULTS, in their order in conf.py."""
    source = (ROOT / app / "conf.py").read_text()
    lines = source.splitlines()
    tree = ast.parse(source)
    computed = _callable_defaults(tree)
    defaults = next(
        node.value
        for node in tree.body
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "DEFAULTS"
    )
    groups, previous_end = [], defaults.lineno
    for key, value in zip(defaults.keys, defaults.values, strict=True):
        between = lines[previous_end : key.lineno - 1]
        comment = " ".join(line.strip()[1:].strip() for line in between if line.strip().startswith("#"))
        if isinstance(value, ast.Name) and value.id in computed:
            default = f"computed: {computed[value.id]}"
        else:
            default = ast.get_source_segment(source, value)
        default = " ".join(part.strip() for part in default.splitlines())
        if comment or not groups:
            groups.append((comment, []))
        groups[-1][1].append((key.value, default))
        previous_end = value.end_lineno
    return groups


def _code(text):
    fence = "``" if "`" in text else "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def settings_page(app):
    """One table: each setting, its default, and the comment above its group in conf.py (on the
    group's first row; the rows below it share it)."""
    out = ["| setting | default | meaning |", "| --- | --- | --- |"]
    for comment, entries in settings_groups(app):
        for index, (name, default) in enumerate(entries):
            meaning = _cell(comment) if index == 0 else "(with the above)"
            out.append(f"| `{name}` | {_cell(_code(default))} | {meaning} |")
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------------------------------------
# The API
# ------------------------------------------------------------------------------------------------
def openapi_document():
    import django

    django.setup()
    from mailsite.api import api

    return api.get_openapi_schema(path_prefix="/api/v1")


def _schema_name(schema):
    if not isinstance(schema, dict):
        return ""
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in schema:
        return " or ".join(filter(None, (_schema_name(part) for part in schema["anyOf"])))
    if schema.get("type") == "array":
        return f"list of {_schema_name(schema.get('items', {})) or 'items'}"
    return schema.get("type", "")


def _cell(text):
    return " ".join(str(text).split()).replace("|", "\\|")


def api_page(document):
    out = [
        f"OpenAPI {document.get('openapi', '')}, {document['info']['title']} {document['info']['version']}. "
        "The whole document: [openapi.json](path:_generated/extra/openapi.json).",
        "",
    ]
    by_tag = {}
    for path, operations in sorted(document["paths"].items()):
        for method, operation in operations.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                tag = (operation.get("tags") or ["other"])[0]
                by_tag.setdefault(tag, []).append((path, method, operation))
    for tag, operations in sorted(by_tag.items()):
        out += [f"## {tag}", ""]
        for path, method, operation in operations:
            out += [f"### `{method.upper()} {path}`", ""]
            if operation.get("summary"):
                out += [_cell(operation["summary"]), ""]
            if operation.get("description"):
                out += [operation["description"].strip(), ""]
            parameters = operation.get("parameters", [])
            if parameters:
                out += ["| parameter | in | type | required |", "| --- | --- | --- | --- |"]
                for parameter in parameters:
                    out.append(
                        f"| `{parameter['name']}` | {parameter['in']} | {_cell(_schema_name(parameter.get('schema')))} "
                        f"| {'yes' if parameter.get('required') else 'no'} |"
                    )
                out.append("")
            body = operation.get("requestBody", {}).get("content", {})
            for media, content in body.items():
                out += [f"Request body ({media}): {_cell(_schema_name(content.get('schema'))) or 'object'}", ""]
            responses = operation.get("responses", {})
            if responses:
                out += ["| status | answer |", "| --- | --- |"]
                for status, response in responses.items():
                    schema = next(iter(response.get("content", {}).values()), {}).get("schema")
                    what = _cell(response.get("description", ""))
                    if _schema_name(schema):
                        what += f" ({_cell(_schema_name(schema))})"
                    out.append(f"| {status} | {what} |")
                out.append("")
    schemas = document.get("components", {}).get("schemas", {})
    if schemas:
        out += ["## Schemas", ""]
        for name, schema in sorted(schemas.items()):
            out += [f"### {name}", ""]
            properties = schema.get("properties", {})
            if properties:
                required = set(schema.get("required", []))
                out += ["| field | type | required |", "| --- | --- | --- |"]
                for field, spec in properties.items():
                    out.append(f"| `{field}` | {_cell(_schema_name(spec))} | {'yes' if field in required else 'no'} |")
                out.append("")
    return "\n".join(out)


# ------------------------------------------------------------------------------------------------
def generate(app, config):
    generated = Path(app.confdir) / "_generated"
    (generated / "extra").mkdir(parents=True, exist_ok=True)
    for name in APPS:
        _write(generated / f"settings-{name}.md", settings_page(name))
    document = openapi_document()
    _write(generated / "extra" / "openapi.json", json.dumps(document, indent=2) + "\n")
    _write(generated / "api-reference.md", api_page(document))


def _write(path, text):
    """Written only when changed, so Sphinx rebuilds only what changed."""
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def setup(app):
    app.connect("config-inited", generate)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}

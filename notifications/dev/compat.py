"""The HTML compatibility check: which HTML and CSS features of an email Gmail, Outlook and Apple
Mail do not support, or support only in part, by caniemail.com's tests. The data ships with the
app (data/caniemail.json, trimmed by data/trim_caniemail.py; MIT, data/LICENSE-caniemail), so
nothing is fetched at run time.

Each caniemail feature has a slug ("html-svg", "css-display-flex", "image-webp", ...); the HTML
is read once into its tags, attributes, CSS declarations, selectors and at-rules, and each slug is
looked up there by the rules below. A slug no rule knows is never reported."""

import json
import re
from dataclasses import dataclass
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

DATA = Path(__file__).with_name("data") / "caniemail.json"
NOT_SUPPORTED, PARTIAL = "n", "a"  # caniemail's codes, as the data keeps them

SEMANTICS = set("article aside details figcaption figure footer header main mark nav section summary time".split())
ATTRIBUTE_FEATURES = {"loading-attribute": "loading"}
IMAGE_EXTENSIONS = {
    "jpg": ("jpg", "jpeg"),
    "heif": ("heif", "heic"),
    "tiff": ("tif", "tiff"),
}
UNITS = {"percent": "%"}
DECLARATION = re.compile(r"([-\w]+)\s*:\s*([^;]+)")
BLOCK = re.compile(r"([^{}]*)\{([^{}]*)\}")
AT_RULE = re.compile(r"@([-\w]+)")
COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
URL = re.compile(r"url\(\s*['\"]?([^'\")]+)")


@dataclass
class Flag:
    slug: str
    title: str
    url: str
    category: str
    clients: list  # (client, platform, NOT_SUPPORTED or PARTIAL, notes)


@cache
def caniemail():
    return json.loads(DATA.read_text(encoding="utf-8"))


class _Reader(HTMLParser):
    """The HTML's tags, attributes, image sources and CSS, as the feature rules look at them."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.attributes, self.images, self.comments = set(), set(), [], False
        self.input_types, self.button_types, self.hrefs, self.metas = set(), set(), [], set()
        self.inline_css, self.style_css, self._in_style = [], [], False

    def handle_starttag(self, tag, attrs):
        attrs = {name.lower(): value or "" for name, value in attrs}
        self.tags.add(tag)
        self.attributes |= set(attrs)
        if tag == "style":
            self._in_style = True
        if "style" in attrs:
            self.inline_css.append(attrs["style"])
        if tag in ("img", "source") or (tag == "input" and attrs.get("type") == "image"):
            self.images += [attrs.get("src", ""), *re.split(r",\s*", attrs.get("srcset", ""))]
        if tag == "input":
            self.input_types.add(attrs.get("type", "text").lower())
        if tag == "button":
            self.button_types.add(attrs.get("type", "submit").lower())
        if tag == "a" and "href" in attrs:
            self.hrefs.append(attrs["href"].strip().lower())
        if tag == "meta":
            self.metas.add(attrs.get("name", "").lower())

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.style_css.append(data)

    def handle_comment(self, data):
        self.comments = True


class _Features:
    """Which slugs an email's HTML uses."""

    def __init__(self, html):
        reader = _Reader()
        reader.feed(html or "")
        reader.close()
        self.r = reader
        self.doctype = (html or "").lstrip().lower().startswith("<!doctype")
        raw_css = "\n".join(reader.style_css)
        self.css_comments = "/*" in raw_css or any("/*" in css for css in reader.inline_css)
        blocks_css = COMMENT.sub("", raw_css)
        self.at_rules = {name.lower() for name in AT_RULE.findall(blocks_css)}
        self.media = " ".join(re.findall(r"@media([^{]*)", blocks_css)).lower()
        bodies = [body for _selector, body in BLOCK.findall(blocks_css)]
        self.selectors = " ".join(AT_RULE.sub("", selector) for selector, _body in BLOCK.findall(blocks_css))
        self.css = blocks_css + "\n" + "\n".join(reader.inline_css)
        self.declarations = [
            (name.lower(), value.strip().lower())
            for css in [*bodies, *(COMMENT.sub("", css) for css in reader.inline_css)]
            for name, value in DECLARATION.findall(css)
        ]
        self.properties = {name for name, _value in self.declarations}
        self.values = " ".join(value for _name, value in self.declarations)
        self.images = [src.split()[0].lower() for src in reader.images if src.strip()]
        self.images += [src.lower() for src in URL.findall(self.css)]

    def uses(self, slug):
        kind, _dash, name = slug.partition("-")
        rule = getattr(self, f"_{kind}", None)
        return bool(rule and rule(name))

    def _html(self, name):
        r = self.r
        special = {
            "h1-h6": bool(r.tags & {"h1", "h2", "h3", "h4", "h5", "h6"}),
            "lists": bool(r.tags & {"ul", "ol", "dl"}),
            "semantics": bool(r.tags & SEMANTICS),
            "image-maps": bool(r.tags & {"map", "area"}),
            "doctype": self.doctype,
            "comments": r.comments,
            "anchor-links": any(href.startswith("#") for href in r.hrefs),
            "mailto-links": any(href.startswith("mailto:") for href in r.hrefs),
            "meta-color-scheme": bool(r.metas & {"color-scheme", "supported-color-schemes"}),
        }
        if name in special:
            return special[name]
        if name.startswith("input-"):
            return name.removeprefix("input-") in r.input_types
        if name.startswith("button-"):
            return name.removeprefix("button-") in r.button_types
        return name in r.tags or ATTRIBUTE_FEATURES.get(name, name) in r.attributes

    def _css(self, name):
        if name.startswith("display-"):
            shown = name.removeprefix("display-")  # "flex" also catches "inline-flex"
            return any(p == "display" and v.split()[0].endswith(shown) for p, v in self.declarations)
        if name.startswith("at-media-"):
            return name.removeprefix("at-media-") in self.media
        if name.startswith("at-"):
            return name.removeprefix("at-") in self.at_rules
        if name.startswith("pseudo-class-"):
            return re.search(rf"(?<!:):{re.escape(name.removeprefix('pseudo-class-'))}\b", self.selectors) is not None
        if name.startswith("pseudo-element-"):
            return re.search(rf"::?{re.escape(name.removeprefix('pseudo-element-'))}\b", self.selectors) is not None
        if name.startswith("unit-"):
            unit = UNITS.get(name.removeprefix("unit-"), name.removeprefix("unit-"))
            if unit == "calc":
                return "calc(" in self.values
            return re.search(rf"\d{re.escape(unit)}(?![\w-])", self.values) is not None
        if name.startswith("function-"):
            return f"{name.removeprefix('function-')}(" in self.values
        special = {
            "important": "!important" in self.css,
            "variables": "var(--" in self.css or any(p.startswith("--") for p in self.properties),
            "comments": self.css_comments,
            "rgb": "rgb(" in self.values,
            "rgba": "rgba(" in self.values,
            "selector-attribute": "[" in self.selectors,
            "selector-id": "#" in self.selectors,
            "selector-child": ">" in self.selectors,
            "selector-adjacent-sibling": "+" in self.selectors,
            "selector-general-sibling": "~" in self.selectors,
            "selector-universal": "*" in self.selectors,
        }
        if name in special:
            return special[name]
        if name.endswith("-gradient"):
            return f"{name}(" in self.values
        return name in self.properties

    def _image(self, name):
        if name == "base64":
            return any(src.startswith("data:") for src in self.images)
        extensions = IMAGE_EXTENSIONS.get(name, (name,))
        return any(re.search(rf"\.({'|'.join(extensions)})(\?|#|$)", src) for src in self.images)


def html_compatibility(html):
    """The flags of the HTML: one per feature it uses that Gmail, Outlook or Apple Mail (any
    platform's latest test) does not support or supports in part, the most-affected first."""
    data = caniemail()
    features = _Features(html)
    flags = []
    for slug, feature in data["features"].items():
        if not features.uses(slug):
            continue
        clients = [
            (
                data["families"][family],
                data["platforms"].get(platform, platform),
                result["support"],
                result["notes"],
            )
            for family, platforms in feature["stats"].items()
            for platform, result in platforms.items()
        ]
        flags.append(Flag(slug, feature["title"], feature["url"], feature["category"], clients))
    flags.sort(key=lambda flag: (-sum(c[2] == NOT_SUPPORTED for c in flag.clients), flag.title))
    return flags

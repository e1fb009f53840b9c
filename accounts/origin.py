"""Where a change to an account came from, for the notices that tell its owner: when, the client's
IP address, and the browser and system named by its User-Agent.

The parser is deliberately small: it names the common families a person would recognise
("Firefox 128", "Windows") and says nothing rather than guess at the rest.
"""

import re

from django.utils import timezone

from .ratelimit import client_ip

USER_AGENT_MAX_LENGTH = 512

# Order matters: Edge, Opera and Samsung Internet also say "Chrome", and Chrome also says "Safari".
BROWSERS = [
    ("Edge", re.compile(r"\bEdg(?:e|A|iOS)?/(\d+)")),
    ("Opera", re.compile(r"\b(?:OPR|Opera)/(\d+)")),
    ("Samsung Internet", re.compile(r"\bSamsungBrowser/(\d+)")),
    ("Firefox", re.compile(r"\b(?:Firefox|FxiOS)/(\d+)")),
    ("Chrome", re.compile(r"\b(?:Chrome|CriOS)/(\d+)")),
    ("Safari", re.compile(r"\bVersion/(\d+)[\d.]*(?: Mobile/\S+)? Safari/")),
]
SYSTEMS = [
    ("iOS", re.compile(r"\b(?:iPhone|iPad|iPod)\b")),
    ("Android", re.compile(r"\bAndroid\b")),
    ("Windows", re.compile(r"\bWindows\b")),
    ("ChromeOS", re.compile(r"\bCrOS\b")),
    ("macOS", re.compile(r"\bMac OS X\b|\bMacintosh\b")),
    ("Linux", re.compile(r"\bLinux\b")),
]


def user_agent_describe(user_agent):
    """{"browser": "Firefox 128", "system": "Windows"}; an empty string for what is not recognised."""
    user_agent = (user_agent or "")[:USER_AGENT_MAX_LENGTH]
    browser = next((f"{name} {m[1]}" for name, pattern in BROWSERS if (m := pattern.search(user_agent))), "")
    system = next((name for name, pattern in SYSTEMS if pattern.search(user_agent)), "")
    return {"browser": browser, "system": system}


def request_origin(request):
    """The keyword arguments the notice services take about the request that made a change."""
    return {"ip": client_ip(request), "user_agent": request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_MAX_LENGTH]}


def origin_context(*, ip=None, user_agent="", when=None):
    """What a notice shows about a change: when (UTC), from which address and browser."""
    return {"when": when or timezone.now(), "ip": ip or "", **user_agent_describe(user_agent)}

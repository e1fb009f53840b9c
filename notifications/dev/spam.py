"""A message's spam score from SpamAssassin, as a receiving server would compute it: `spamc` when a
`spamd` answers, else `spamassassin` itself (slower: it loads its rules each time). Local tests
only (-L: no DNS blocklists or other network checks), and no user's preferences (-x). Without
either program there is no score, and the page says so in one line."""

import re
import shutil
import subprocess
from dataclasses import dataclass, field

from ..errors import NotificationsError

TIMEOUT = 60  # seconds; spamassassin loads its rules in one or two
SCORE = re.compile(r"^\s*(-?[\d.]+)\s*/\s*(-?[\d.]+)\s*$")
DETAILS = re.compile(r"Content analysis details:\s+\((-?[\d.]+) points?, (-?[\d.]+) required\)")
RULE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s+([A-Z0-9_]+)\s+(.*)$")


@dataclass
class SpamReport:
    score: float
    required: float
    rules: list = field(default_factory=list)  # (points, name, description), as SpamAssassin lists them
    checker: str = ""

    @property
    def spam(self):
        return self.score >= self.required


class SpamCheckUnavailable(NotificationsError):
    """Neither spamc (with a running spamd) nor spamassassin could score the message."""


def _rules(report):
    """The rule table of a report, up to the blank line that ends it."""
    lines = report.split("---- ----", 1)[-1].splitlines()[1:] if "---- ----" in report else []
    rules = []
    for line in lines:
        if not line.strip():
            break
        match = RULE.match(line)
        if match:
            rules.append((float(match[1]), match[2], match[3].strip()))
        elif rules and line.startswith(" " * 5) and line.strip():  # a description's next line
            points, name, description = rules[-1]
            rules[-1] = (points, name, f"{description} {line.strip()}")
    return rules


def _spamc(source):
    # -R: the score line and the report; -x: an error instead of "0/0" when spamd is not there.
    done = subprocess.run(["spamc", "-x", "-R"], input=source, capture_output=True, timeout=TIMEOUT, check=False)
    first, _newline, report = done.stdout.decode(errors="replace").partition("\n")
    match = SCORE.match(first)
    if done.returncode not in (0, 1) or not match:
        return None
    return SpamReport(float(match[1]), float(match[2]), _rules(report), "spamc")


def _spamassassin(source):
    done = subprocess.run(
        ["spamassassin", "-L", "-x", "-t"], input=source, capture_output=True, timeout=TIMEOUT, check=False
    )
    out = done.stdout.decode(errors="replace")
    match = DETAILS.search(out)
    if not match:
        raise SpamCheckUnavailable(done.stderr.decode(errors="replace").strip()[-300:] or "no report")
    return SpamReport(float(match[1]), float(match[2]), _rules(out[match.start() :]), "spamassassin")


def spam_checker():
    """The program that will score the message, or None when SpamAssassin is not installed."""
    return next((name for name in ("spamc", "spamassassin") if shutil.which(name)), None)


def spam_check(source):
    """The SpamReport of the message's bytes. Raises SpamCheckUnavailable without SpamAssassin."""
    try:
        if shutil.which("spamc") and (report := _spamc(source)):
            return report
        if shutil.which("spamassassin"):
            return _spamassassin(source)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise SpamCheckUnavailable(str(error)) from error
    raise SpamCheckUnavailable("SpamAssassin is not installed")

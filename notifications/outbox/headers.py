"""Headers as receivers read them: URL lists folded between their <...> items, never encoded.

Python's email policies fold a long header without spaces (a List-Unsubscribe URL with a token)
into an RFC 2047 encoded-word. RFC 2047 forbids encoded-words in structured fields, and Gmail and
Yahoo then miss the one-click unsubscribe they require of bulk senders. OutboxPolicy folds such
headers only between their items (RFC 2369), whatever transport serialises the message.
"""

import email.policy
import re

# RFC 2369 and RFC 8058 headers: lists of <URL>, or a fixed token.
URL_LIST_HEADERS = {
    "list-unsubscribe",
    "list-unsubscribe-post",
    "list-help",
    "list-subscribe",
    "list-post",
    "list-owner",
    "list-archive",
}
# RFC 3834: no vacation responder or list software answers these; Exchange reads the second.
AUTOMATIC = {"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"}
_ITEM = re.compile(r"<[^<>]*>|[^,<>\s][^,<>]*")


def fold_between_items(name, value, *, max_line_length=78, linesep="\r\n"):
    """`name: value` with folds only after the commas between items, or None if it cannot be
    written that way (non-ASCII text, a bare line break)."""
    if not value.isascii() or "\r" in value or "\n" in value:
        return None
    items = [item.strip() for item in _ITEM.findall(value)]
    lines = [f"{name}:"]
    for index, item in enumerate(items):
        piece = item + ("," if index < len(items) - 1 else "")
        if len(lines[-1]) + 1 + len(piece) > (max_line_length or 998) and lines[-1] != f"{name}:":
            lines.append("")
        lines[-1] += " " + piece
    return linesep.join(lines) + linesep


class OutboxPolicy(email.policy.EmailPolicy):
    def _fold(self, name, value, *args, **kwargs):
        if name.lower() in URL_LIST_HEADERS:
            folded = fold_between_items(name, str(value), max_line_length=self.max_line_length, linesep=self.linesep)
            if folded is not None:
                return folded
        return super()._fold(name, value, *args, **kwargs)


def outbox_policy(policy=email.policy.default):
    """`policy` with OutboxPolicy's folding, its other settings (line ending, length) kept."""
    if isinstance(policy, OutboxPolicy):
        return policy
    return OutboxPolicy().clone(**vars(policy))

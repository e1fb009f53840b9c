"""Failover across providers: EMAIL_PROVIDER=ses,mailgun tries SES first, then Mailgun.

The chain is settings.NOTIFICATIONS_TRANSPORTS (MAILERS aliases, in order). Every message starts
on the first. It moves to the next one when its provider answers that it is down (unreachable,
HTTP 5xx, a paused account), or after NOTIFICATIONS_FAILOVER_AFTER transient failures there. The
last provider gets NOTIFICATIONS_MAX_ATTEMPTS tries before the message fails for good. A permanent
refusal (the recipient does not exist) never fails over: another provider would be refused too.

The row keeps the provider it is on in `provider` (and, once sent, the one that sent it), and in
`provider_since_attempt` how many attempts were made before that provider took over.
"""

from django.core.mail import mailers

from ..conf import settings
from .providers import is_down


def transport_chain():
    aliases = [alias for alias in settings.NOTIFICATIONS_TRANSPORTS if alias in mailers]
    return aliases or ["transport"]


def transport_for(row):
    """The alias the row should be sent through now."""
    chain = transport_chain()
    return row.provider if row.provider in chain else chain[0]


def attempts_here(row):
    return row.attempts - row.provider_since_attempt


def transport_next(row, alias, error):
    """The alias to move to after a transient `error` on `alias`, or None to stay (or give up)."""
    chain = transport_chain()
    if alias not in chain or alias == chain[-1]:
        return None
    if is_down(error) or attempts_here(row) >= settings.NOTIFICATIONS_FAILOVER_AFTER:
        return chain[chain.index(alias) + 1]
    return None


def exhausted(row):
    """True once the row's current (last) provider has had all its tries."""
    return attempts_here(row) >= settings.NOTIFICATIONS_MAX_ATTEMPTS

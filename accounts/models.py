from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .identity import email_canonical, email_canonical_or_none, username_key
from .languages import language_default, language_validate

username_validator = RegexValidator(
    r"^[A-Za-z0-9_.]+\Z",
    _("Use only letters, digits, underscores and dots."),
)


class UserManager(DjangoUserManager):
    def get_by_natural_key(self, username):
        return self.get(username_key=username_key(username))

    def get_by_login(self, login):
        """The user whose address or username is `login` in its canonical form; DoesNotExist
        otherwise (also for an address that has no canonical form)."""
        login = login.strip() if isinstance(login, str) else ""
        if "@" in login:
            return self.get(email=email_canonical_or_none(login) or "")
        return self.get(username_key=username_key(login))

    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        for user in objs:  # bulk_create skips save(), which keeps the stored forms
            user.normalise_identity()
        return super().bulk_create(objs, *args, **kwargs)

    def _create_user(self, username, email, password, **extra_fields):
        return super()._create_user(username, email_canonical(email), password, **extra_fields)


class AbstractAccountsUser(AbstractUser):
    """What the account flows need of a user: a unique canonical address, a username with its
    case-folded key, when the address was confirmed and the language of their email. A project
    with a user model of its own subclasses this and names it in AUTH_USER_MODEL; `User` below
    is then swapped out and gets no table."""

    username = models.CharField(
        _("username"),
        max_length=30,
        unique=True,
        validators=[username_validator],
        help_text=_("Up to 30 letters, digits, underscores and dots."),
        error_messages={"unique": _("That username is taken.")},
    )
    # NFKC and case-folded: what lookups and uniqueness use, while `username` keeps its spelling.
    username_key = models.CharField(_("username key"), max_length=90, unique=True, editable=False)
    # Always canonical (accounts.identity.email_canonical), so uniqueness is an exact match.
    email = models.EmailField(_("email address"), max_length=254, unique=True)
    email_confirmed_at = models.DateTimeField(_("email confirmed at"), null=True, blank=True)
    language = models.CharField(
        _("language for emails"),
        max_length=10,
        default=language_default,
        validators=[language_validate],
    )

    objects = UserManager()

    REQUIRED_FIELDS = ["email"]

    class Meta:
        abstract = True
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def clean(self):
        super().clean()
        if self.email:
            self.email = email_canonical(self.email)

    def normalise_identity(self):
        """The stored forms are an invariant of the row, so every write path keeps them, whatever
        form or script made the change (save, and the manager's bulk_create)."""
        self.username_key = username_key(self.username)
        if self.email:
            self.email = email_canonical(self.email)

    def save(self, *args, **kwargs):
        self.normalise_identity()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "username" in update_fields:
            kwargs["update_fields"] = {*update_fields, "username_key"}
        super().save(*args, **kwargs)

    @property
    def email_confirmed(self):
        return self.email_confirmed_at is not None

    def mark_email_confirmed(self, *, when=None):
        self.email_confirmed_at = when or timezone.now()


class User(AbstractAccountsUser):
    """The default user model (AUTH_USER_MODEL = "accounts.User")."""

    class Meta(AbstractAccountsUser.Meta):
        swappable = "AUTH_USER_MODEL"


class EmailCaptcha(models.Model):
    """The audit trail of one emailed verification code: who asked, from where, and what became
    of it. The code itself lives only in the cache, as a keyed hash; it is never stored here."""

    class Purpose(models.TextChoices):
        SIGNUP = "signup", _("sign-up")
        LOGIN = "login", _("log-in")
        VERIFY_EMAIL = "verify_email", _("address confirmation after sign-up")
        PASSWORD_RESET = "password_reset", _("password reset")

    class Outcome(models.TextChoices):
        PENDING = "pending", _("pending")
        USED = "used", _("used")
        EXPIRED = "expired", _("expired")
        EXHAUSTED = "exhausted", _("too many wrong tries")
        REPLACED = "replaced", _("replaced by a newer code")
        LOCKED = "locked", _("address locked for the day")
        WITHHELD = "withheld", _("not sent (address not eligible)")

    email = models.EmailField(_("email address"), max_length=254, db_index=True)
    purpose = models.CharField(_("purpose"), max_length=16, choices=Purpose)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    expires_at = models.DateTimeField(_("expires"))
    attempts = models.PositiveIntegerField(_("wrong tries"), default=0)
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    ip = models.GenericIPAddressField(_("requesting IP"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome, default=Outcome.PENDING)

    class Meta:
        verbose_name = _("emailed code")
        verbose_name_plural = _("emailed codes")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["email", "purpose", "outcome"], name="accounts_captcha_live_idx"),
            models.Index(fields=["ip", "created_at"], name="accounts_captcha_ip_idx"),
        ]

    def __str__(self):
        return f"{self.get_purpose_display()} code for {self.email} ({self.get_outcome_display()})"


class Intent(models.Model):
    """A request that depends on whether an address has an account (sign-up, reset, a new
    confirmation link, a code), recorded for the worker to carry out.

    The web request only writes this row and publishes a task, the same work for every address,
    so its response time tells nobody which addresses have accounts. The row is the durable
    record: if the task is never published or never runs, the sweeper carries it out. It is
    deleted in the transaction that carries it out."""

    class Kind(models.TextChoices):
        SIGNUP = "signup"
        RESET = "reset"
        RESEND = "resend"
        CODE = "code"

    kind = models.CharField(max_length=16, choices=Kind)
    email = models.EmailField(max_length=254)  # canonical
    # The handler's other keyword arguments; for a sign-up the password's hash, never the password.
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self):
        return f"{self.kind} for {self.email} at {self.created_at:%Y-%m-%d %H:%M:%S}"


class AppToken(models.Model):
    """An API app client's session: the token it sends in a header, kept only as a SHA-256 hash.
    It dies when revoked (the row is deleted), when unused for ACCOUNTS_APP_TOKEN_IDLE_TIMEOUT,
    and, like a browser session, when the account's password changes (`auth_hash`). Before
    log-in it may hold a flow in progress (`state`), e.g. a sign-up waiting for its code."""

    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="app_tokens"
    )
    auth_hash = models.CharField(max_length=128, blank=True, editable=False)
    state = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last used"), default=timezone.now, db_index=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("app session")
        verbose_name_plural = _("app sessions")

    def __str__(self):
        return f"app session {self.pk} of user {self.user_id}"


class UserSession(models.Model):
    """One logged-in browser of a user, for the "your sessions" list (accounts/flows/sessions.py).

    The session key is kept only as a SHA-256 hash: a leaked table names no session a thief could
    use. Ending a session deletes its row; the middleware logs out a session whose row is gone.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key_hash = models.CharField(_("session key hash"), max_length=64, unique=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=400, blank=True)
    created_at = models.DateTimeField(_("logged in"), default=timezone.now)
    last_seen_at = models.DateTimeField(_("last seen"), default=timezone.now)

    class Meta:
        verbose_name = _("session")
        verbose_name_plural = _("sessions")
        ordering = ["-last_seen_at", "-id"]
        indexes = [models.Index(fields=["user", "last_seen_at"], name="accounts_session_user_idx")]

    def __str__(self):
        return f"session of user {self.user_id} from {self.ip or '?'}"


class Passkey(models.Model):
    """A WebAuthn credential (a passkey) that logs its owner in, on its own or as a second factor
    (accounts/flows/passkeys.py). Only the public key is kept: nothing here can log anyone in."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="passkeys")
    name = models.CharField(_("name"), max_length=64)
    # The authenticator's id for it (at most 1023 bytes, WebAuthn Level 3), and our id for the user
    # (random, the same for every passkey of one account), as the browser sends them back.
    credential_id = models.BinaryField(_("credential id"), max_length=1023, unique=True)
    user_handle = models.BinaryField(_("user handle"), max_length=64)
    public_key = models.BinaryField(_("public key"))
    # 0 for authenticators that keep no counter; otherwise it must grow with every use.
    sign_count = models.PositiveBigIntegerField(_("sign count"), default=0)
    transports = models.JSONField(_("transports"), default=list, blank=True)
    backed_up = models.BooleanField(_("backed up"), default=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        verbose_name = _("passkey")
        verbose_name_plural = _("passkeys")
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"passkey {self.name!r} of user {self.user_id}"


class Authenticator(models.Model):
    """One second factor of a user (accounts/flows/mfa.py): an authenticator app, or the set of
    recovery codes (passkeys are `Passkey` rows). `data` holds what the factor needs and never in clear what would
    let someone pass it: a TOTP secret is encrypted (accounts.crypto), recovery codes are hashed."""

    class Kind(models.TextChoices):
        TOTP = "totp", _("authenticator app")
        RECOVERY_CODES = "recovery_codes", _("recovery codes")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="authenticators")
    kind = models.CharField(_("type"), max_length=20, choices=Kind)
    name = models.CharField(_("name"), max_length=100, blank=True)
    data = models.JSONField(default=dict, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        verbose_name = _("authenticator")
        verbose_name_plural = _("authenticators")
        ordering = ["created_at", "id"]
        constraints = [
            # One authenticator app and one set of recovery codes per user.
            models.UniqueConstraint(
                fields=["user", "kind"],
                condition=models.Q(kind__in=["totp", "recovery_codes"]),
                name="accounts_authenticator_one_per_kind",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} of user {self.user_id}"


class TotpStepUsed(models.Model):
    """A time step whose code an authenticator app already gave: the unique pair makes a code
    work once, even for two requests racing with it (the second insert fails)."""

    authenticator = models.ForeignKey(Authenticator, on_delete=models.CASCADE, related_name="+")
    step = models.BigIntegerField()
    used_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["authenticator", "step"], name="accounts_totp_step_once")]

    def __str__(self):
        return f"step {self.step} of authenticator {self.authenticator_id}"


class TrustedBrowser(models.Model):
    """A browser its user chose to trust for the second factor ("trust this browser for 30 days").
    The cookie holds a random key (only its SHA-256 hash is here) and the account's security state
    at the time; deleting the row, or any change of password or factor, ends the trust."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("trusted since"), default=timezone.now)
    expires_at = models.DateTimeField(_("trusted until"))
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=400, blank=True)

    class Meta:
        verbose_name = _("trusted browser")
        verbose_name_plural = _("trusted browsers")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"trusted browser of user {self.user_id}"

"""Request and response bodies of the account API. Lengths are bounds only: the forms and
flows validate the values, so the pages and the API refuse the same input."""

from typing import Any, Literal

from ninja import Field, Schema

Email = Field(..., max_length=320, examples=["ada@example.com"])
Password = Field(..., max_length=1024)
Code = Field(..., max_length=64, examples=["123456"])
Key = Field(..., max_length=1024)
Pending = Literal["verify_email", "login_code", "password_reset_code", "second_factor"]


class UserOut(Schema):
    id: int
    username: str
    email: str
    email_confirmed: bool
    language: str


class SessionOut(Schema):
    authenticated: bool
    user: UserOut | None = None
    pending: list[Pending] = Field(default=[], description="Flows waiting for the client's next step.")
    session_token: str | None = Field(
        default=None, description="App clients: a newly issued token, to send as X-Session-Token from now on."
    )
    second_factor_methods: list[str] = Field(
        default=[],
        description='With pending "second_factor": the ways to pass it (POST .../auth/2fa).',
    )


class DetailOut(Schema):
    detail: str


class SentOut(Schema):
    detail: str
    by: Literal["link", "code"]
    session_token: str | None = None


class CodeSentOut(Schema):
    detail: str
    expires_in: int = Field(..., description="Seconds the code works.")
    retry_after: int = Field(..., description="Seconds until another code may be asked for.")
    session_token: str | None = None


class SignupIn(Schema):
    email: str = Email
    username: str = Field(..., max_length=150, examples=["ada"])
    password: str = Password
    code: str = Field(default="", max_length=64, description="A sign-up code, if one was asked for.")


class LoginIn(Schema):
    login: str = Field(..., max_length=320, description="Email address or username.")
    password: str = Password


class EmailIn(Schema):
    email: str = Email


class CodeRequestIn(Schema):
    email: str = Email
    purpose: Literal["signup", "login", "verify_email", "password_reset"] = "signup"


class CodeLoginIn(Schema):
    email: str = Email
    code: str = Code


class CodeIn(Schema):
    code: str = Code


class VerifyKeyIn(Schema):
    key: str = Key
    password: str | None = Field(
        default=None, max_length=1024, description="Needed when the answer says password_required."
    )


class ResetKeyIn(Schema):
    key: str = Key
    password: str = Password


class ResetCodeIn(Schema):
    email: str = Email
    code: str = Code
    password: str = Password


class PasswordChangeIn(Schema):
    current_password: str = Password
    new_password: str = Password


class EmailChangeIn(Schema):
    email: str = Email
    password: str = Password


class KeyIn(Schema):
    key: str = Key


class EmailOut(Schema):
    email: str


class PasswordIn(Schema):
    password: str = Password


class SessionRow(Schema):
    id: str
    kind: Literal["browser", "app"]
    current: bool
    created_at: str | None = None
    last_used_at: str | None = None
    ip: str | None = None
    user_agent: str = ""


class EndedOut(Schema):
    ended: int


class FlowConfig(Schema):
    signup_by_code: bool
    email_verification_by_code: bool
    login_by_password: bool
    login_by_code: bool
    password_reset_by_code: bool
    code_length: int
    code_ttl: int


class ConfigOut(Schema):
    flows: FlowConfig
    client_kinds: list[Literal["browser", "app"]]
    session_token_header: str
    csrf_header: str


class PasskeyOptionsOut(Schema):
    options: dict[str, Any] = Field(
        ...,
        description="PublicKeyCredentialCreationOptionsJSON or PublicKeyCredentialRequestOptionsJSON (WebAuthn "
        "Level 3): give them to navigator.credentials.create()/get() (or PublicKeyCredential.parse...FromJSON).",
    )
    session_token: str | None = Field(
        default=None, description="App clients: a newly issued token that holds the challenge; send it with finish."
    )


class PasskeyCredentialIn(Schema):
    credential: dict[str, Any] = Field(
        ..., description="The browser's answer as JSON (PublicKeyCredential.toJSON(): bytes as base64url)."
    )


class PasskeyAddIn(PasskeyCredentialIn):
    name: str = Field(default="", max_length=64, description="Empty: a name with today's date.")


class PasskeyNameIn(Schema):
    name: str = Field(..., max_length=64)


class PasskeySignupIn(Schema):
    email: str = Email
    username: str = Field(..., max_length=150, examples=["ada"])


class PasskeyOut(Schema):
    id: int
    name: str
    created_at: str
    last_used_at: str | None = None
    transports: list[str] = []
    backed_up: bool


class SecondFactorIn(Schema):
    code: str = Field(..., max_length=64, description="A code from the authenticator app, or a recovery code.")


class ReauthIn(Schema):
    password: str = Field(default="", max_length=1024)
    code: str = Field(default="", max_length=64, description="A code from the authenticator app, or an emailed code.")


class ReauthOut(Schema):
    method: str
    expires_in: int = Field(..., description="Seconds the proof lets sensitive changes through.")


class AuthenticatorOut(Schema):
    id: int
    type: Literal["totp", "recovery_codes"]
    name: str
    created_at: str
    last_used_at: str | None = None


class AuthenticatorsOut(Schema):
    authenticators: list[AuthenticatorOut]
    recovery_codes_left: int
    second_factor_methods: list[str]
    reauthentication_methods: list[str]


class TotpSetupOut(Schema):
    secret: str = Field(..., description="The key to type into the app; shown only until the set-up is confirmed.")
    uri: str = Field(..., description="The otpauth:// URI the QR code holds.")
    qr_svg: str


class RecoveryCodesOut(Schema):
    recovery_codes: list[str] = Field(..., description="Shown once: only their hashes are kept.")

"""What a person does with an account, one module per flow (allauth's `internal/flows`).

  signup.py                      sign-up: recorded for the worker, which creates the account or
                                 tells the owner of an address that has one
  email_verification.py          confirming the address by link (or sending the code), sign-up proofs
  email_verification_by_code.py  confirming the address by the emailed code
  code_verification.py           emailed codes: send, consume, limits, the EmailCaptcha audit rows
  login_by_code.py               which account a right log-in code opens
  password_reset.py              reset by link or by code, and the notice after any change
  email_change.py                a link to the new address, a notice to the old one
  email_change_revert.py         undoing a change from the old address ("this was not me")
  account_deletion.py            deleting your own account, confirmed by password or code
  sessions.py                    your logged-in sessions: recorded, listed, ended
  mfa.py, second_factor.py, totp.py, passkeys.py, recovery_codes.py, trust.py, notices.py
                                 the second factor

Each flow is plain functions with keyword-only arguments, named `<thing>_<action>`. The pages
(accounts.views), the forms and the JSON API (accounts.api) are thin doors onto them. Flows use the
app's infrastructure (accounts.conf, models, tokens, identity, links, ratelimit, intents) and
notifications' public API (email_send); nothing below them imports a flow.
"""

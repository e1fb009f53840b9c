"""The account pages, one module per flow, as accounts/flows/ has. They check rate
limits, validate through a form (accounts.forms) and hand off to the flow:

  signup.py        sign-up (with an optional emailed code)
  confirmation.py  "check your inbox", a new link, the link itself, and the code after sign-up
  login.py         log-in and log-out, by password or by an emailed code
  codes.py         "email me a code", as a page or as JSON
  passwords.py     reset by link or by code, and change
  email_change.py  changing the address, and undoing a change from the old address
  account.py       the settings page, other sessions, deleting the account
  language.py      the language switcher
  base.py          what they share: limits, the JSON-or-page answer, link pages
"""

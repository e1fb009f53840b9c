"""Development tools, on only with DEBUG: the mailbox and the email previews."""

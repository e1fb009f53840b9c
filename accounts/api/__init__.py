"""The JSON API of the account flows (/api/v1/), a second door into the same flows as the pages."""

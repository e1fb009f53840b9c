"""The account flows, one module each: plain functions with keyword-only arguments, named
`<thing>_<action>`, that the pages and the API call."""

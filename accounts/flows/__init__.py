"""The account flows: plain functions with keyword-only arguments, one module per flow. The pages
and the JSON API are thin doors onto them."""

"""The project's shared fixtures, loaded as plugins (each app's own sit in its conftest.py)."""

pytest_plugins = ["testing.fixtures", "testing.users"]

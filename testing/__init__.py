"""Test support shared by every app's tests: pytest plugins, loaded by the root conftest.py
(`pytest_plugins`) and by pytest.ini (`-p testing.servers`, which must run before Django's settings)."""

"""The browser suite (see conftest.py and the README's "Browser tests")."""

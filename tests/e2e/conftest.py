"""End-to-end tests use the `system` fixture of tests/conftest.py."""

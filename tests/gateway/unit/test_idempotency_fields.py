"""Every console form that posts carries an idempotency key, drawn fresh for each
form each time the page is drawn; every state-changing API operation documents the
Idempotency-Key header."""

import re
from pathlib import Path

from gateway import web
from gateway.http import UNSAFE_METHODS
from gateway.openapi import document

TEMPLATES = Path(web.__file__).parent / "templates"
FORM = re.compile(r"<form\b[^>]*>(.*?)</form>", re.S | re.I)
# the CSRF token and a fresh key, as every posting form draws them (web.form_keys)
KEY_FIELD = "{{ form_keys() }}"
# a confirmation page posts the key of the form that asked (confirm.html)
CARRIED_KEY = (
    '<input type="hidden" name="idempotency_key" value="{{ key or new_key() }}">'
)


def test_every_posting_form_in_every_template_carries_a_fresh_key() -> None:
    missing = []
    for template in sorted(TEMPLATES.glob("*.html")):
        for form in FORM.finditer(template.read_text()):
            opening = form.group(0)[: form.group(0).index(">") + 1]
            body = form.group(1)
            if 'method="post"' in opening.lower() and not (
                KEY_FIELD in body or CARRIED_KEY in body
            ):
                missing.append((template.name, opening))
    assert missing == []


def test_each_form_drawn_gets_its_own_key() -> None:
    draw = web.environment("en").globals["new_key"]
    keys = {draw() for _ in range(50)}
    assert len(keys) == 50
    assert all(re.fullmatch(r"[0-9a-f]{32}", key) for key in keys)


def test_form_keys_draws_the_csrf_token_and_a_fresh_key_each_time() -> None:
    page = web.environment("en").from_string("{{ form_keys() }}|{{ form_keys() }}")
    drawn = page.render(csrf='a"b').split("|")
    keys = set()
    for fields in drawn:
        assert '<input type="hidden" name="csrf" value="a&#34;b">' in fields
        (key,) = re.findall(r'name="idempotency_key" value="([0-9a-f]{32})"', fields)
        keys.add(key)
    assert len(keys) == 2


def test_every_state_changing_operation_documents_the_idempotency_key() -> None:
    undocumented = []
    for path, operations in document()["paths"].items():
        for method, operation in operations.items():
            names = [p.get("name") for p in operation.get("parameters", [])]
            has = "Idempotency-Key" in names
            if has != (method.upper() in UNSAFE_METHODS):
                undocumented.append((method, path))
    assert undocumented == []

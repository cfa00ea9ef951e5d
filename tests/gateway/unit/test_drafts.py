"""An applicant's draft is sealed under the key of their cookie: another key, another
row or an altered ciphertext opens nothing, the sealed text names nothing of them,
the password never goes in, and a cookie that is not a handle is no handle."""

import json

import pytest

from gateway import drafts
from svyaz.crypto import DecryptionError

FORM = {
    "pseudonym": "heron_7",
    "legal_name": "Ольга Сергеевна Петрова",
    "email": "olga.petrova@example.org",
    "password": "correct horse battery staple",
    "consent": "yes",
    "consent_version": "2026-11",
    "country": "GE",
    "city": "Тбилиси",
    "motivation": "Говорить с матерью в Самаре",
    "referral": "",
    "csrf": "token",
}


def test_the_owner_reads_the_draft_back_without_password_or_consent() -> None:
    handle = drafts.Handle.new()
    sealed = drafts.seal(handle, drafts.kept(FORM, ["ru", "ka"]))
    draft = drafts.unseal(handle, sealed)
    assert draft["legal_name"] == FORM["legal_name"]
    assert draft["email"] == FORM["email"]
    assert draft["languages"] == ["ru", "ka"]
    assert set(draft) == set(drafts.KEPT) | {"languages"}
    assert "password" not in draft and "consent" not in draft
    assert FORM["password"] not in json.dumps(draft)


def test_a_wrong_key_or_another_row_cannot_open_it() -> None:
    handle = drafts.Handle.new()
    sealed = drafts.seal(handle, drafts.kept(FORM, ["ru"]))
    wrong_key = drafts.Handle(handle.draft_id, drafts.Handle.new().key)
    other_row = drafts.Handle(drafts.Handle.new().draft_id, handle.key)
    for stranger in (wrong_key, other_row):
        with pytest.raises(DecryptionError):
            drafts.unseal(stranger, sealed)
    version, nonce, body = sealed.split(".")
    altered = ".".join((version, nonce, ("A" if body[0] != "A" else "B") + body[1:]))
    with pytest.raises(DecryptionError):
        drafts.unseal(handle, altered)


def test_the_sealed_text_holds_no_plaintext() -> None:
    handle = drafts.Handle.new()
    sealed = drafts.seal(handle, drafts.kept(FORM, ["ru"]))
    # (no short value: two letters turn up in base64 by chance)
    typed = ("olga.petrova", "example.org", "heron_7", "Ольга", "Самар", "Тбилиси")
    for value in typed:
        assert value not in sealed
    # each save is sealed afresh (a new nonce): equal drafts do not look equal
    assert drafts.seal(handle, drafts.kept(FORM, ["ru"])) != sealed


def test_the_cookie_holds_id_and_key_and_the_row_only_a_hash_of_the_id() -> None:
    handle = drafts.Handle.new()
    assert drafts.Handle.parse(handle.cookie) == handle
    assert handle.key.hex() not in handle.row_key
    assert len(handle.row_key) == 64 and handle.draft_id.hex() != handle.row_key
    assert drafts.Handle.new() != handle  # random each time


@pytest.mark.parametrize(
    "cookie",
    [None, "", "abc", "a.b", "a.b.c", "!!!.???", "A" * 43 + "." + "B" * 42, "é.é"],
)
def test_a_cookie_that_is_not_a_handle_is_none(cookie: str | None) -> None:
    assert drafts.Handle.parse(cookie) is None

"""A comment or a feedback typed in the strategy pages (gateway.console.strategies):
sent, the reader is sent back to the page by a GET saying what was done (a reload
posts nothing again); refused, the page is drawn again with the refusal at the
field, the text kept, the report it was about, and a 400."""

from types import SimpleNamespace
from typing import Any

from gateway.console.strategies import _say
from svyaz.errors import InvalidInput


def drawn() -> tuple[list[dict[str, Any]], Any]:
    pages: list[dict[str, Any]] = []

    def page(**given: Any) -> dict[str, Any]:
        pages.append(given)
        return given

    return pages, page


def call(**form: str) -> Any:
    return SimpleNamespace(form=form, lang="en")


def test_a_text_sent_sends_back_to_the_page_saying_so() -> None:
    sent: list[str] = []
    pages, page = drawn()
    answer = _say(
        call(comment="Good plan."), "comment", sent.append, page, "commented", "/m/1"
    )
    assert sent == ["Good plan."]
    assert (answer.status_code, answer.headers["Location"]) == (
        303,
        "/m/1?done=commented",
    )
    assert pages == []  # nothing drawn at the POST's address


def test_a_text_refused_is_kept_with_the_refusal_at_its_field() -> None:
    def refuse(typed: str) -> None:
        raise InvalidInput("too long", "invalid_input", {"body": ["too long"]})

    pages, page = drawn()
    _say(
        call(feedback="x" * 9000),
        "feedback",
        refuse,
        page,
        "feedback",
        "/m/1",
        report_id="r1",
    )
    assert pages == [
        {
            "errors": {"feedback": ""},  # a field's rule: the template words it
            "form": "feedback",
            "typed": "x" * 9000,
            "status": 400,
            "report_id": "r1",
        }
    ]


def test_a_form_without_the_field_sends_an_empty_text() -> None:
    sent: list[str] = []
    pages, page = drawn()
    answer = _say(call(), "comment", sent.append, page, "answered", "/me/strategy")
    assert sent == [""]
    assert answer.headers["Location"] == "/me/strategy?done=answered"

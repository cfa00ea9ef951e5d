"""Message texts. Discreet by default: nothing about the programme, money or the war;
the details wait behind sign-in."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Message:
    subject: str
    body: str


DISCREET = {
    "ru": Message(
        "Новое сообщение",
        "Здравствуйте!\n\nВ вашем личном кабинете новое сообщение. "
        "Войдите, чтобы прочитать его.\n",
    ),
    "en": Message(
        "New message",
        "Hello,\n\nYou have a new message in your account. Sign in to read it.\n",
    ),
}


def render(template: str, language: str) -> Message:
    """The message for a template in a language (Russian when unknown)."""
    return DISCREET.get(language, DISCREET["ru"])

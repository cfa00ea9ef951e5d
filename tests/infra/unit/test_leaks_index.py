"""The chaos run's leak scanner looks thousands of values up in one pass per text:
it must find what a plain substring search finds."""

from tests.leaks import Index


def test_the_index_finds_each_value_wherever_a_substring_search_would() -> None:
    values = [
        "Irina Volkonskaya-1a2b3c",
        "chaos.0123456789@example.org",
        "Анна Квасова",
    ]
    index = Index(values)
    texts = {
        '{"to": "CHAOS.0123456789@EXAMPLE.ORG"}': ["chaos.0123456789@example.org"],
        "mailto:x.chaos.0123456789@example.org;": ["chaos.0123456789@example.org"],
        "by Irina Volkonskaya-1a2b3c, sent": ["Irina Volkonskaya-1a2b3c"],
        "Volkonskaya-1a2b3c alone is not the name": [],
        "письмо от Анна Квасова": ["Анна Квасова"],
        "chaos.0123456788@example.org and irina": [],
    }
    for text, expected in texts.items():
        assert sorted(index.find(text)) == sorted(expected), text
        plain = [v for v in values if v.lower() in text.lower()]
        assert sorted(plain) == sorted(expected), text

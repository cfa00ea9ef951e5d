"""Password hashing's cost (registry.settings, registry.logic.passwords):
the shipped config hashes at RFC 9106's second recommended option, production refuses
less than OWASP's floor, and a hash made at another cost is known for rehashing."""

from pathlib import Path

import pytest

from registry.exceptions import InvalidRequest
from registry.logic.accounts import check_password_policy
from registry.logic.passwords import Passwords, is_weak
from registry.settings import Settings
from svyaz import config as svyaz_config
from svyaz.config import ConfigurationError
from tests.helpers import SHIPPED_PASSWORDS

CONFIG = Path(__file__).resolve().parents[3] / "services" / "registry" / "config.yml"
LIGHT = {
    "PASSWORD_TIME_COST": 1,
    "PASSWORD_MEMORY_KIB": 1024,
    "PASSWORD_PARALLELISM": 1,
}


def shipped(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict:
    for key in LIGHT:  # the config as shipped: none of the cost's variables set
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return svyaz_config.load(CONFIG)


def test_the_shipped_config_hashes_at_rfc_9106s_second_option(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    own = Settings.read(shipped(monkeypatch))

    assert (own.password_time_cost, own.password_memory_kib) == (3, 65536)
    assert own.password_parallelism == 4
    made = Passwords().hash("correct horse battery staple")  # before `configure`
    assert made.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert SHIPPED_PASSWORDS == {  # what the cost's own tests run at
        "PASSWORD_TIME_COST": str(own.password_time_cost),
        "PASSWORD_MEMORY_KIB": str(own.password_memory_kib),
        "PASSWORD_PARALLELISM": str(own.password_parallelism),
    }


def test_production_refuses_a_cost_below_owasps_floor(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    light = Settings.read(
        shipped(monkeypatch, **{key: str(value) for key, value in LIGHT.items()})
    )
    assert light.password_memory_kib == 1024  # development and tests may
    light.check(production=False)

    with pytest.raises(ConfigurationError, match="below OWASP's least cost"):
        light.check(production=True)
    Settings.read(shipped(monkeypatch)).check(production=True)  # the default passes
    with pytest.raises(ConfigurationError, match="8 KiB per lane"):
        Settings.read({**shipped(monkeypatch), "PASSWORD_MEMORY_KIB": 16})


def test_a_hash_at_another_cost_still_verifies_and_asks_to_be_made_again() -> None:
    old = Passwords(2, 2048, 1)
    now = Passwords(time_cost=1, memory_kib=1024, parallelism=1)
    stored = old.hash("correct horse battery staple")

    assert now.verify(stored, "correct horse battery staple")
    assert not now.verify(stored, "correct horse battery stapler")
    assert not now.verify("not a hash", "correct horse battery staple")
    assert now.needs_rehash(stored)
    assert not now.needs_rehash(now.hash("correct horse battery staple"))


@pytest.mark.parametrize(
    "password",
    [
        "passwordpassword",
        "123456789012",
        "aaaaaaaaaaaa",
        "password1234",
        "qwertyuiop12",
        "121212121212",
        "Password2026!",
        "ЙЦУКЕН123456789",
        "9876543210abcd",
    ],
)
def test_an_easily_guessed_password_is_weak_whatever_its_length(
    password: str,
) -> None:
    """Found by an outside reading: these were all taken, the document promising
    `weak_password` for a password "not easy to guess"."""
    assert is_weak(password)


@pytest.mark.parametrize(
    "password",
    [
        "correct horse battery staple",
        "a long passphrase here",
        "not the password",
        "мой кот любит рыбу",
        "Tr0ub4dor&3xyz",
    ],
)
def test_a_passphrase_of_ones_own_is_not_weak(password: str) -> None:
    assert not is_weak(password)


def test_a_new_password_that_is_easy_to_guess_is_refused_with_what_to_do() -> None:
    with pytest.raises(InvalidRequest) as refused:
        check_password_policy("password1234")
    assert refused.value.code == "weak_password"
    assert "passphrase" in refused.value.fields["password"][0]
    check_password_policy("correct horse battery staple")  # taken

"""Password hashing: argon2id at the cost the registry's settings give
(`PASSWORD_TIME_COST`, `PASSWORD_MEMORY_KIB`, `PASSWORD_PARALLELISM`; RFC 9106's
second recommended option by default, never less than OWASP's floor in production).
A sign-in hashes again a password stored at another cost (registry.logic.accounts),
so raising the cost upgrades every account in time."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from registry.settings import Settings

# A password's length, in characters, wherever one is set or given: an application,
# a staff account, a reset, a sign-in (longer than MAX cannot be anyone's).
MIN_LENGTH = 12
MAX_LENGTH = 200
LENGTH_RULE = f"{MIN_LENGTH} to {MAX_LENGTH} characters"
WEAK_RULE = (
    "easy to guess: it is made of a common word, a run of keys or digits, or a "
    "few characters repeated; choose a passphrase of several words of your own"
)

# What a guesser tries first (NIST SP 800-63B, 5.1.1.2: refuse passwords made of
# dictionary words, repeated or sequential characters, and the service's name):
# a password left with fewer than MIN_LEFT characters once these are taken out of
# it is refused. Runs of four or more of a sequence count, either way round.
_SEQUENCES = (
    "0123456789",
    "abcdefghijklmnopqrstuvwxyz",
    "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
    "qwertyuiop",
    "asdfghjkl",
    "zxcvbnm",
    "йцукенгшщзхъ",
    "фывапролджэ",
    "ячсмитьбю",
)
_WORDS = (
    "password",
    "passwort",
    "passw0rd",
    "pa55word",
    "пароль",
    "qwerty",
    "йцукен",
    "letmein",
    "welcome",
    "iloveyou",
    "admin",
    "secret",
    "login",
    "svyaz",
    "связь",
    "monkey",
    "dragon",
    "football",
    "sunshine",
    "princess",
    "master",
)
MIN_LEFT = 6
MIN_DISTINCT = 5


def _runs(min_run: int = 4) -> list[str]:
    """Every run of `min_run` or more characters of each sequence, either way
    round, longest first (so that the longest is taken out whole)."""
    runs = {
        seq[i:j]
        for base in _SEQUENCES
        for seq in (base, base[::-1])
        for i in range(len(seq))
        for j in range(i + min_run, len(seq) + 1)
    }
    return sorted(runs, key=len, reverse=True)


_GUESSES = sorted(set(_WORDS), key=len, reverse=True) + _runs()


def is_weak(password: str) -> bool:
    """Easy to guess whatever its length: fewer than MIN_DISTINCT different
    characters (`aaaaaaaaaaaa`, `121212121212`), or fewer than MIN_LEFT left once
    common words and runs of keys, letters or digits are taken out
    (`passwordpassword`, `password1234`, `123456789012`, `qwertyuiop12`)."""
    folded = password.casefold()
    if len(set(folded)) < MIN_DISTINCT:
        return True
    left = folded
    for guess in _GUESSES:
        if guess in left:
            left = left.replace(guess, "")
    left = "".join(ch for ch in left if not ch.isspace())
    return len(left) < MIN_LEFT


class Passwords:
    """argon2id hashes at one cost (registry.settings: RFC 9106's second recommended
    option unless configured), and the dummy hash a sign-in for an unknown email is
    checked against at that same cost, so that time tells nothing."""

    def __init__(
        self, time_cost: int = 3, memory_kib: int = 65536, parallelism: int = 4
    ) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism
        )
        self._dummy = self._hasher.hash(secrets.token_hex(16))

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False

    def spend_as_verify(self, password: str) -> None:
        """The work of a real check, for an email without an account."""
        self.verify(self._dummy, password)

    def needs_rehash(self, stored: str) -> bool:
        """Made at another cost than the configured one."""
        return self._hasher.check_needs_rehash(stored)


_current = Passwords()


def configure(own: Settings) -> None:
    """The cost of new hashes in this process, from the registry's settings (its
    `Vault` at start-up, and `registry.bootstrap`)."""
    global _current
    _current = Passwords(
        own.password_time_cost, own.password_memory_kib, own.password_parallelism
    )


def current() -> Passwords:
    return _current

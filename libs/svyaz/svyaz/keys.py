"""Bus keys: one Ed25519 key pair per process identity, and the bus-wide sealing key.

Each process holds its own private key and nobody else's, and the public keys of
every identity (a directory of `<identity>.pub` files). A `.pub` file may hold more
than one key, one a line (`ed25519 <base64> [comment]`): during a rotation both the
old and the new key are valid, and messages name the key they were signed with by
its id (the first 16 hex digits of the SHA-256 of the raw public key).

    python -m svyaz.keys ensure var/keys               # the development key set
    python -m svyaz.keys ensure var/keys registry      # just these identities
    python -m svyaz.keys rotate var/keys stipends      # a new key; the old one stays
    python -m svyaz.keys ensure /keys --nested         # private/<id>/<id>.key: a
                                                       # folder (a volume) per process

`ensure` creates what is missing and never replaces a key (so it is safe to run
before every start); private keys are written readable by their owner alone.
"""

from __future__ import annotations

import argparse
import base64
import fcntl
import hashlib
import os
import stat
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from svyaz.config import ConfigurationError

# every identity that signs on the bus: the services, and the tools people run
REGISTRY = "registry"
STIPENDS = "stipends"
NOTIFICATIONS = "notifications"
INSIGHTS = "insights"
GATEWAY = "gateway"
FINANCE_CLI = "finance-cli"  # svyaz-finance
OPERATOR = "operator"  # python -m svyaz.shell
SERVICES = (REGISTRY, STIPENDS, NOTIFICATIONS, INSIGHTS, GATEWAY)
IDENTITIES = (*SERVICES, FINANCE_CLI, OPERATOR)

PRIVATE_DIR = "private"
PUBLIC_DIR = "public"
PREFIX = "ed25519"


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return hashlib.sha256(raw).hexdigest()[:16]


def public_line(public: Ed25519PublicKey, comment: str = "") -> str:
    raw = public.public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    text = f"{PREFIX} {base64.b64encode(raw).decode()}"
    return f"{text} {comment}".rstrip()


def parse_public(text: str, where: str) -> list[Ed25519PublicKey]:
    found: list[Ed25519PublicKey] = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        kind, _, rest = line.partition(" ")
        try:
            if kind != PREFIX:
                raise ValueError(f"not an {PREFIX} key")
            raw = base64.b64decode(rest.split()[0], validate=True)
            found.append(Ed25519PublicKey.from_public_bytes(raw))
        except (ValueError, IndexError) as exc:
            raise ConfigurationError(f"{where}, line {number}: {exc}") from None
    return found


def load_private(path: str | Path, *, strict: bool = False) -> Ed25519PrivateKey:
    """A PEM (PKCS#8) Ed25519 private key. `strict` (production) also refuses a
    file that anyone but its owner can read."""
    file = Path(path)
    try:
        mode = file.stat().st_mode
        data = file.read_bytes()
    except OSError as exc:
        raise ConfigurationError(
            f"BUS_PRIVATE_KEY: cannot read {file} ({exc.strerror}); create the "
            f"process's key with `python -m svyaz.keys ensure <dir> <identity>`"
        ) from None
    if strict and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigurationError(
            f"BUS_PRIVATE_KEY: {file} is readable by others; chmod 600 it"
        )
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except ValueError:
        raise ConfigurationError(f"BUS_PRIVATE_KEY: {file} is not a PEM key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigurationError(f"BUS_PRIVATE_KEY: {file} is not an Ed25519 key")
    return key


def load_public_dir(path: str | Path) -> dict[str, list[Ed25519PublicKey]]:
    """{identity: [public key, ...]} from `<identity>.pub` files."""
    folder = Path(path)
    if not folder.is_dir():
        raise ConfigurationError(
            f"BUS_PUBLIC_KEYS: {folder} is not a directory of <identity>.pub files"
        )
    ring: dict[str, list[Ed25519PublicKey]] = {}
    for file in sorted(folder.glob("*.pub")):
        keys = parse_public(file.read_text(), str(file))
        if keys:
            ring[file.stem] = keys
    if not ring:
        raise ConfigurationError(f"BUS_PUBLIC_KEYS: {folder} holds no public keys")
    return ring


LOCK_FILE = ".ensure.lock"  # one `ensure` at a time in a folder


def _write_private(path: Path, key: Ed25519PrivateKey) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)


def private_path(folder: str | Path, identity: str, nested: bool = False) -> Path:
    """Where `identity`'s private key lives: `private/<id>.key`, or with `nested`
    `private/<id>/<id>.key` (so that each process can be given its folder alone)."""
    base = Path(folder) / PRIVATE_DIR
    return (base / identity if nested else base) / f"{identity}.key"


def ensure(
    folder: str | Path, identities: Iterable[str] = IDENTITIES, nested: bool = False
) -> list[str]:
    """Create a key pair for each identity that has none; return those created.
    Processes that ensure the same folder at once (test jobs starting side by
    side on a fresh clone) take turns: one creates a key, the others find it."""
    root = Path(folder)
    (root / PUBLIC_DIR).mkdir(parents=True, exist_ok=True)
    with open(root / LOCK_FILE, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        return _ensure(root, identities, nested)


def _ensure(root: Path, identities: Iterable[str], nested: bool) -> list[str]:
    created: list[str] = []
    for identity in identities:
        private = private_path(root, identity, nested)
        public = root / PUBLIC_DIR / f"{identity}.pub"
        if private.exists():
            if not public.exists():
                own = load_private(private).public_key()
                public.write_text(public_line(own, identity) + "\n")
            continue
        key = Ed25519PrivateKey.generate()
        _write_private(private, key)
        with public.open("a") as handle:
            handle.write(public_line(key.public_key(), identity) + "\n")
        created.append(identity)
    return created


def rotate(folder: str | Path, identity: str) -> str:
    """A new private key for `identity`; its public key is added beside the old
    one, which stays valid until it is removed from the `.pub` file."""
    root = Path(folder)
    private = root / PRIVATE_DIR / f"{identity}.key"
    key = Ed25519PrivateKey.generate()
    temporary = private.with_suffix(".new")
    temporary.unlink(missing_ok=True)
    _write_private(temporary, key)
    with (root / PUBLIC_DIR / f"{identity}.pub").open("a") as handle:
        handle.write(public_line(key.public_key(), f"{identity} rotated") + "\n")
    temporary.replace(private)
    return key_id(key.public_key())


def index(
    ring: Mapping[str, Sequence[Ed25519PublicKey]],
) -> dict[tuple[str, str], Ed25519PublicKey]:
    return {(who, key_id(key)): key for who, keys in ring.items() for key in keys}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Svyaz bus keys")
    parser.add_argument("action", choices=("ensure", "rotate"))
    parser.add_argument("folder")
    parser.add_argument("identities", nargs="*")
    parser.add_argument("--nested", action="store_true", help="a folder per key")
    args = parser.parse_args(argv)
    if args.action == "ensure":
        created = ensure(args.folder, args.identities or IDENTITIES, args.nested)
        if created:
            print(f"bus keys created for: {', '.join(created)}")
        return 0
    if len(args.identities) != 1:
        parser.error("rotate takes one identity")
    print(f"new key {rotate(args.folder, args.identities[0])} for {args.identities[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

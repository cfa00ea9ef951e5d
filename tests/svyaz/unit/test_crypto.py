import pytest

from svyaz.config import ConfigurationError
from svyaz.crypto import (
    DecryptionError,
    KeyRing,
    decrypt_field,
    encrypt_field,
    generate_key,
    parse_master_keys,
)


def ring(current: str = "k1", **extra: str) -> KeyRing:
    keys = {"k1": generate_key(), **extra}
    text = ",".join(f"{kid}={key}" for kid, key in keys.items())
    return KeyRing(parse_master_keys(text), current, {"i1": b"i" * 32}, "i1")


def test_a_field_opens_only_with_its_key_row_and_name() -> None:
    keys = ring()
    dek = keys.new_data_key()
    sealed = encrypt_field(dek, "Anna", "row-1", "legal_name")
    assert "Anna" not in sealed
    assert decrypt_field(dek, sealed, "row-1", "legal_name") == "Anna"
    with pytest.raises(DecryptionError):
        decrypt_field(dek, sealed, "row-2", "legal_name")  # moved to another row
    with pytest.raises(DecryptionError):
        decrypt_field(dek, sealed, "row-1", "email")  # moved to another column
    with pytest.raises(DecryptionError):
        decrypt_field(keys.new_data_key(), sealed, "row-1", "legal_name")


def test_rotation_rewraps_the_data_key_without_touching_fields() -> None:
    old = ring()
    dek = old.new_data_key()
    wrapped = old.wrap(dek, "row-1")
    sealed = encrypt_field(dek, "Anna", "row-1", "legal_name")
    new = KeyRing({**old.master_keys, "k2": b"2" * 32}, "k2", old.index_keys, "i1")
    rewrapped = new.rewrap(wrapped, "row-1")
    assert KeyRing.wrapped_key_id(wrapped) == "k1"
    assert KeyRing.wrapped_key_id(rewrapped) == "k2"
    assert (
        decrypt_field(new.unwrap(rewrapped, "row-1"), sealed, "row-1", "legal_name")
        == "Anna"
    )
    retired = KeyRing({"k2": b"2" * 32}, "k2", old.index_keys, "i1")
    with pytest.raises(DecryptionError):
        retired.unwrap(wrapped, "row-1")


def test_blind_indexes_match_equal_values_only() -> None:
    keys = ring()
    assert keys.blind_index("email", " Anna@Example.org") == keys.blind_index(
        "email", "anna@example.org"
    )
    assert keys.blind_index("email", "anna@example.org") != keys.blind_index(
        "phone", "anna@example.org"
    )
    other = KeyRing(keys.master_keys, "k1", {"i1": b"j" * 32}, "i1")
    assert keys.blind_index("email", "a@b.c") != other.blind_index("email", "a@b.c")


def test_an_index_names_its_key_and_lookups_try_every_key() -> None:
    old = KeyRing({"k1": b"1" * 32}, "k1", {"i1": b"i" * 32}, "i1")
    both = KeyRing(old.master_keys, "k1", {"i1": b"i" * 32, "i2": b"j" * 32}, "i2")
    made = old.blind_index("email", "anna@example.org")
    assert made.startswith("i1.") and both.blind_index("email", "anna@example.org")[
        :3
    ] == ("i2.")
    assert made in both.blind_indexes("email", " Anna@Example.org")
    # before key ids an index was the bare HMAC: still found
    assert made[3:] in both.blind_indexes("email", "anna@example.org")
    new = KeyRing(old.master_keys, "k1", {"i2": b"j" * 32}, "i2")
    assert made not in new.blind_indexes("email", "anna@example.org")
    with pytest.raises(ConfigurationError, match="BLIND_INDEX_KEY_ID"):
        KeyRing(old.master_keys, "k1", {"i2": b"j" * 32}, "i1")


@pytest.mark.parametrize("text", ["", "k1=short", "=abc", "k1=" + "!" * 43])
def test_bad_master_keys_stop_start_up(text: str) -> None:
    with pytest.raises(ConfigurationError):
        parse_master_keys(text)


def test_the_current_key_must_exist() -> None:
    with pytest.raises(ConfigurationError, match="MASTER_KEY_ID"):
        ring(current="nope")


def test_the_registry_keys_come_from_its_settings_and_dev_ones_stop_production() -> (
    None
):
    from svyaz.crypto import keyring
    from tests.conftest import service_config_file

    config = service_config_file("registry")
    ring = keyring(config)  # the development set that config.yml carries
    assert ring.log_current in ring.log_keys and ring.index_current in ring.index_keys
    real = {
        name: f"k1={generate_key()}"
        for name in ("MASTER_KEYS", "BLIND_INDEX_KEYS", "ACCESS_LOG_KEYS")
    }
    ids = {"MASTER_KEY_ID": "k1", "BLIND_INDEX_KEY_ID": "k1", "ACCESS_LOG_KEY_ID": "k1"}
    production = {**config, **real, **ids, "SVYAZ_ENV": "production"}
    assert keyring(production).log_keys.keys() == {"k1"}
    with pytest.raises(ConfigurationError, match="ACCESS_LOG_KEYS"):
        keyring({**production, "ACCESS_LOG_KEYS": config["ACCESS_LOG_KEYS"]})

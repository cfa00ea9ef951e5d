import pytest

from svyaz import config as settings
from svyaz import signing
from tests.conftest import ROOT, service_config_file

SERVICES = ("registry", "stipends", "notifications", "gateway")


def test_production_refuses_development_secrets() -> None:
    config = {"SVYAZ_ENV": "production", "BUS_SEALING_KEY": "dev-sealing-key"}
    with pytest.raises(settings.ConfigurationError, match="BUS_SEALING_KEY still"):
        settings.secret(config, "BUS_SEALING_KEY")
    assert settings.secret({"SVYAZ_ENV": "development", "K": "dev-x"}, "K") == "dev-x"


def test_a_missing_setting_names_the_variable_to_set() -> None:
    with pytest.raises(
        settings.ConfigurationError, match="set the environment variable"
    ):
        settings.require({}, "DB_URI")


@pytest.mark.parametrize("text", ["", "noequals", "=x", "a="])
def test_a_malformed_keyring_is_refused(text: str) -> None:
    with pytest.raises(settings.ConfigurationError):
        settings.parse_keyring(text)


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_signs_its_messages(service: str) -> None:
    config = service_config_file(service)
    assert config["serializer"] == signing.NAME
    assert config["ACCEPT"] == [signing.NAME]
    expected = signing.nameko_config()["SERIALIZERS"]
    assert config["SERIALIZERS"] == expected
    # its own private key, nobody else's; everyone's public keys
    assert config["BUS_PRIVATE_KEY"].endswith(f"/private/{service}.key")
    assert config["BUS_PUBLIC_KEYS"].endswith("/public")
    assert config["BUS_SEALING_KEY"].startswith("dev-")  # refused in production
    assert "BUS_SIGNING_KEYS" not in config


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_filters_personal_data_from_its_logs(service: str) -> None:
    logging = service_config_file(service)["LOGGING"]
    assert logging["filters"]["personal_data"]["()"] == (
        "svyaz.logging.PersonalDataFilter"
    )
    for handler in logging["handlers"].values():
        assert "personal_data" in handler["filters"]


def test_config_files_read_only_placeholders() -> None:
    for service in SERVICES:
        text = (ROOT / "services" / service / "config.yml").read_text()
        for line in text.splitlines():
            key, _, value = line.partition(":")
            if key.isupper() and key.endswith(("KEY", "KEYS")):
                assert value.strip().startswith("${"), line


def test_a_test_only_switch_is_refused_in_production_unless_it_is_safe() -> None:
    development = {"SVYAZ_ENV": "development", "UNSAFE_INBOX_DEDUP": "false"}
    assert settings.unsafe(development, "UNSAFE_INBOX_DEDUP", True) == "false"
    production = {"SVYAZ_ENV": "production", "UNSAFE_INBOX_DEDUP": "false"}
    with pytest.raises(settings.ConfigurationError, match="for tests only"):
        settings.unsafe(production, "UNSAFE_INBOX_DEDUP", True)
    for safe in ({"SVYAZ_ENV": "production", "UNSAFE_INBOX_DEDUP": "true"}, {}):
        assert str(settings.unsafe(safe, "UNSAFE_INBOX_DEDUP", True)).lower() == "true"
    with pytest.raises(settings.ConfigurationError):
        settings.unsafe(
            {"SVYAZ_ENV": "production", "UNSAFE_PAYOUT_KILL_AT_PHASE": 0.1},
            "UNSAFE_PAYOUT_KILL_AT_PHASE",
            0,
        )


def test_a_positive_setting_is_read_as_a_number_or_refused_by_name() -> None:
    assert settings.positive({"LEASE": "5"}, "LEASE", 60) == 5.0
    assert settings.positive({"LEASE": 0.5}, "LEASE", 60) == 0.5
    assert settings.positive({}, "LEASE", 60) == 60.0
    assert settings.positive({"LEASE": ""}, "LEASE", 60) == 60.0  # ${LEASE:} unset
    for bad in ("0", "-3", "soon", "nan", "inf", [], True):
        with pytest.raises(settings.ConfigurationError, match="LEASE must be"):
            settings.positive({"LEASE": bad}, "LEASE", 60)


PRODUCTION_READY = {
    "SVYAZ_ENV": "production",
    "AMQP_URI": "amqps://registry:s3cret@broker.internal:5671/",
    "DB_URI": "postgresql+psycopg2://registry:s3cret@db.internal/svyaz_registry",
    "PUBLIC_URL": "https://svyaz.example.org",
}


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"AMQP_URI": "amqp://guest:guest@127.0.0.1:5672/"}, "guest user"),
        ({"DB_URI": "postgresql+psycopg2://postgres@127.0.0.1/x"}, "no password"),
        ({"COOKIE_SECURE": "false"}, "COOKIE_SECURE"),
        ({"PUBLIC_URL": "http://127.0.0.1:8000"}, "PUBLIC_URL is not https"),
        ({"AMQP_URI": "amqp://registry:dev-x@rabbitmq/"}, "AMQP_URI holds a dev"),
        # a cluster's failover URI: every node's part is checked, not the first's
        (
            {"AMQP_URI": "amqps://registry:s3cret@b1:5671/;amqp://guest:guest@b2/"},
            "guest user",
        ),
        (
            {"AMQP_URI": "amqps://registry:s3cret@b1:5671/;amqps://r:dev-x@b2:5671/"},
            "AMQP_URI holds a dev",
        ),
        ({"DB_URI": "postgresql://svyaz_registry:dev-x@db/r"}, "DB_URI holds a dev"),
        ({"DB_URI": "postgresql://postgres:s3cret@db/r"}, "postgres, the superuser"),
    ],
)
def test_production_refuses_what_is_only_for_development(
    change: dict[str, str], named: str
) -> None:
    settings.refuse_development_settings(PRODUCTION_READY)  # a good set starts
    with pytest.raises(settings.ConfigurationError, match=named):
        settings.refuse_development_settings({**PRODUCTION_READY, **change})
    # development takes the same values
    settings.refuse_development_settings(
        {**PRODUCTION_READY, **change, "SVYAZ_ENV": "development"}
    )


def test_every_development_default_of_the_services_is_refused_in_production() -> None:
    for service in SERVICES:
        config = {**service_config_file(service), "SVYAZ_ENV": "production"}
        with pytest.raises(settings.ConfigurationError, match="guest user"):
            settings.refuse_development_settings(config)

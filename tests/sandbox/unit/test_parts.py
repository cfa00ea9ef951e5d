"""The sandbox's parts on their own: the route registry (the extension point), the
fault counter, parameter rules and the webhook signature."""

import time

import pytest
import stripe
from stripe_sandbox import params
from stripe_sandbox.errors import StripeError
from stripe_sandbox.faults import Faults
from stripe_sandbox.routes import Call, Registry
from stripe_sandbox.webhooks import sign


def test_a_v2_endpoint_is_one_decorator_on_the_registry() -> None:
    registry = Registry()

    @registry.add("POST", "/v2/core/accounts/{id}/recipients", "v2")
    def create(call: Call) -> dict[str, str]:
        return {"id": call.args["id"]}

    @registry.add("GET", "/v1/transfers/{id}/reversals/{reversal}")
    def retrieve(call: Call) -> dict[str, str]:
        return {}

    route, args = registry.match("POST", "/v2/core/accounts/acct_1/recipients") or (
        None,
        {},
    )
    assert route is not None and route.family == "v2" and args == {"id": "acct_1"}
    found = registry.match("GET", "/v1/transfers/tr_1/reversals/trr_2")
    assert found is not None and found[1] == {"id": "tr_1", "reversal": "trr_2"}
    assert registry.match("GET", "/v2/core/accounts/acct_1/recipients") is None
    assert registry.knows_path("/v2/core/accounts/acct_1/recipients")
    assert registry.match("GET", "/v1/transfers/tr_1/reversals/trr_2/x") is None


def test_fault_switches_count_requests_from_when_they_are_set() -> None:
    faults = Faults()
    faults.next_request()
    faults.set({"fail_nth": 2, "status": 429, "times": 2})
    assert faults.next_request() == (None, False)
    assert faults.next_request() == (429, False)
    assert faults.next_request() == (429, False)
    assert faults.next_request() == (None, False)
    faults.set({"lose_response_nth": 1})
    assert faults.next_request() == (None, True)
    assert faults.next_request() == (None, False)
    assert faults.as_dict()["fired"] == {"429": 2, "lost": 1}  # what chaos counts
    with pytest.raises(StripeError):
        faults.set({"fail_nth": -1})
    with pytest.raises(StripeError):
        faults.set({"fail_nth": 1, "status": 418})


def test_parameters_follow_stripes_rules() -> None:
    with pytest.raises(StripeError) as unknown:
        params.only({"amount": "1", "colour": "red"}, {"amount"})
    assert unknown.value.code == "parameter_unknown" and unknown.value.param == "colour"
    assert params.integer({"amount": "250"}, "amount") == 250
    for bad in ("2.5", "abc", "0", True):
        with pytest.raises(StripeError):
            params.integer({"amount": bad}, "amount")
    with pytest.raises(StripeError) as missing:
        params.integer({}, "amount", required=True)
    assert missing.value.code == "parameter_missing"
    assert params.currency({"currency": "EUR"}) == "eur"
    with pytest.raises(StripeError):
        params.currency({"currency": "euro"})
    merged = params.metadata({"b": "2", "a": ""}, {"a": "1"})
    assert merged == {"b": "2"}  # an empty value removes a key
    assert params.metadata("", {"a": "1"}) == {}
    with pytest.raises(StripeError):
        params.metadata({"k" * 41: "v"})


def test_the_signature_is_the_one_stripe_verifies() -> None:
    payload = b'{"id": "evt_1", "object": "event"}'
    header = sign("whsec_x", payload, int(time.time()))
    assert stripe.WebhookSignature.verify_header(payload.decode(), header, "whsec_x")
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.WebhookSignature.verify_header(payload.decode(), header, "whsec_y")
    stale = sign("whsec_x", payload, int(time.time()) - 3600)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.WebhookSignature.verify_header(
            payload.decode(), stale, "whsec_x", tolerance=300
        )


@pytest.mark.parametrize(
    ("to", "rate", "credited"),
    [
        ("jpy", "160.5", 1981),  # 12.34 EUR = 1 980.57 JPY: no minor unit
        ("rsd", "117.1739", 144593),  # 1 445.925926 RSD: 1 445.93, half up
        ("kwd", "0.3301", 4073),  # 4.073 KWD: three decimals
    ],
)
def test_a_conversion_credits_the_currencys_minor_units_with_the_fee_debited(
    to: str, rate: str, credited: int
) -> None:
    from stripe_sandbox import state, v2

    saved = dict(state.settings.extra)
    state.settings.extra.update(
        {"fx_rates": {f"eur:{to}": rate}, "fx_fee_percent": "1"}
    )
    try:
        debited, got = v2.convert({"value": 1234, "currency": "eur"}, to)
    finally:
        state.settings.extra.clear()
        state.settings.extra.update(saved)
    assert debited == {"value": 1246, "currency": "eur"}  # 12.34 + 1% (0.12)
    assert got == {"value": credited, "currency": to}


def test_a_fee_is_fixed_plus_a_share_rounded_half_up() -> None:
    from stripe_sandbox.objects import fee_of

    assert fee_of(None, -30_000) == 0
    assert fee_of({"fixed": 25, "percent": 0.25}, -30_000) == 100
    assert fee_of({"percent": 0.25}, 1_002) == 3  # 2.505 cents

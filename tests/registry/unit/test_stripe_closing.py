"""When closing an erased person's Stripe account, what counts as already done."""

import stripe

from registry.dependencies import gone


def test_an_account_stripe_no_longer_has_counts_as_closed() -> None:
    assert gone(
        stripe.InvalidRequestError(
            "No such account: 'acct_1'", None, code="resource_missing", http_status=404
        )
    )
    deleted = "The account acct_1 has been deleted, so we can't complete this action."
    assert gone(stripe.PermissionError(deleted, http_status=403))


def test_any_other_failure_is_retried() -> None:
    assert not gone(stripe.APIError("Something went wrong", http_status=500))
    assert not gone(stripe.AuthenticationError("Invalid API Key", http_status=401))
    assert not gone(
        stripe.PermissionError("not connected to your platform", http_status=403)
    )
    assert not gone(stripe.RateLimitError("Too many requests", http_status=429))

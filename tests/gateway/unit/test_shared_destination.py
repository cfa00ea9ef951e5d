"""Where money is decided (the stipends page, the close preview), a payee paid to
the same account as other communicators is named with them, in the reader's
language, with the way to the possible duplicates."""

from typing import Any

from gateway import web


def render(template: str, language: str = "en", **context: Any) -> str:
    return web.environment(language).get_template(template).render(csrf="t", **context)


def stipend(pseudonym: str, shared: list[str]) -> dict[str, Any]:
    return {
        "id": f"s-{pseudonym}",
        "pseudonym": pseudonym,
        "amount_minor": 30_000,
        "currency": "EUR",
        "status": "proposed",
        "approvals_given": 0,
        "approvals_needed": 1,
        "approvers": [],
        "digest": "d" * 64,
        "mine": False,
        "shared_destination_with": shared,
    }


def stipends_page(language: str, *items: dict[str, Any]) -> str:
    return render(
        "admin_stipends.html",
        language,
        status=None,
        cycle="c1",
        wanted=None,
        statuses=("proposed", "approved", "rejected"),
        items=list(items),
        counts={"proposed": len(items)},
        total=len(items),
        number=1,
        pages_total=1,
        outcomes=None,
        error=None,
    )


def test_the_stipends_page_names_who_shares_the_account() -> None:
    shown = stipends_page(
        "en", stipend("heron", ["wren", "lark"]), stipend("finch", [])
    )
    assert shown.count('class="error shared-destination"') == 1
    assert (
        "Paid to the same account as wren, lark: check the possible duplicates "
        "before approving." in shown
    )
    assert 'href="/admin/review-items"' in shown
    russian = stipends_page("ru", stipend("heron", ["wren"]))
    assert "Выплата на тот же счёт, что и у wren" in russian


def test_the_close_preview_names_who_shares_the_account() -> None:
    def entitlement(pseudonym: str, shared: list[str]) -> dict[str, Any]:
        return {
            "communicator_id": pseudonym,
            "pseudonym": pseudonym,
            "tier": "professional",
            "eligible": True,
            "amount_minor": 30_000,
            "approvals_needed": 1,
            "reasons": [],
            "not_eligible_because": [],
            "shared_destination_with": shared,
        }

    shown = render(
        "admin_cycle_close.html",
        preview={
            "blockers": [],
            "can_close": True,
            "eligible_count": 2,
            "not_eligible_count": 0,
            "proposed_minor": 60_000,
            "available_minor": 100_000,
            "currency": "EUR",
            "entitlements": [
                entitlement("heron", ["wren"]),
                entitlement("wren", ["heron"]),
            ],
        },
        cycle={"id": "c1", "period": "2026-11"},
        error=None,
        approvers=None,
    )
    assert shown.count('class="error shared-destination"') == 2
    assert "Paid to the same account as wren" in shown
    assert "Paid to the same account as heron" in shown


def test_a_not_eligible_row_says_not_eligible_once() -> None:
    """The stipend's column says "Not eligible"; the reasons beside it follow bare,
    not each with its own "not eligible:"."""
    shown = render(
        "admin_cycle_close.html",
        preview={
            "blockers": [],
            "can_close": True,
            "eligible_count": 0,
            "not_eligible_count": 1,
            "proposed_minor": 0,
            "available_minor": 100_000,
            "currency": "EUR",
            "entitlements": [
                {
                    "communicator_id": "c",
                    "pseudonym": "heron",
                    "tier": "professional",
                    "eligible": False,
                    "amount_minor": 0,
                    "approvals_needed": 0,
                    "reasons": [],
                    "not_eligible_because": [
                        "not eligible: training not completed",
                        "not eligible: no payout destination set up yet",
                    ],
                    "shared_destination_with": [],
                }
            ],
        },
        cycle={"id": "c1", "period": "2026-11"},
        error=None,
        approvers=None,
    )
    assert "no training completed; no payout destination is set up yet" in shown
    assert "not eligible: no" not in shown.lower()
    assert shown.count("Not eligible") == 2  # the summary's count and the column


def test_a_stipends_own_page_names_who_shares_the_account() -> None:
    shown = render(
        "admin_stipend.html",
        kind="stipend",
        stipend={
            "id": "s1",
            "amount_minor": 30_000,
            "currency": "EUR",
            "status": "proposed",
            "approvals_given": 0,
            "approvals_needed": 1,
            "reasons": [],
            "approvals": [],
            "digest": "d" * 64,
            "shared_destination_with": ["wren"],
        },
        pseudonym="heron",
        trail=[],
        error=None,
    )
    assert "Paid to the same account as wren" in shown

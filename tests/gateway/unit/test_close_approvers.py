"""The close preview warns when the admin closing the cycle (its stipends' proposer,
who never approves them) would leave too few admins to approve them."""

from types import SimpleNamespace
from typing import Any

from gateway import web
from gateway.console.programmes import ProgrammesConsole

ME = "00000000-0000-0000-0000-000000000001"


def staff(*members: tuple[str, list[str], str]) -> list[dict[str, Any]]:
    return [{"id": i, "roles": roles, "state": state} for i, roles, state in members]


def warning(needed: list[int], members: list[dict[str, Any]]) -> Any:
    console = SimpleNamespace(
        deadline=lambda fn, *args: fn(*args),
        registry=SimpleNamespace(list_staff=lambda actor: members),
    )
    call = SimpleNamespace(actor={"id": ME, "roles": ["program_admin"]})
    preview = {
        "entitlements": [{"eligible": True, "approvals_needed": n} for n in needed]
        + [{"eligible": False, "approvals_needed": 3}]  # not proposed: not counted
    }
    return ProgrammesConsole._approvers_besides(console, call, preview)  # type: ignore[arg-type]


def test_two_approvals_need_two_admins_besides_the_closer() -> None:
    two = staff(
        (ME, ["program_admin"], "active"),
        ("a", ["program_admin"], "active"),
        ("b", ["program_admin", "finance"], "invited"),  # not yet able to act
        ("c", ["finance"], "active"),
    )
    assert warning([1, 2], two) == {"needed": 2, "others": 1}
    assert warning([1, 1], two) is None
    assert warning([], two) is None  # nothing proposed
    three = two + staff(("d", ["program_admin"], "active"))
    assert warning([2], three) is None


def test_the_warning_is_said_in_each_language() -> None:
    page = web.environment("ru").from_string(
        "{{ ngettext(one, many, approvers.others, needed=approvers.needed) }}"
    )
    one = (
        "You will propose these stipends, and a proposer never approves them. Some "
        "need %(needed)s approvals, and %(num)s other program admin can give them. "
        "Invite another program admin on the Staff page first, or let another admin "
        "close the cycle."
    )
    many = one.replace("program admin can", "program admins can")
    said = page.render(one=one, many=many, approvers={"needed": 2, "others": 1})
    assert "может 1 другой администратор" in said and "одобрений: 2" in said

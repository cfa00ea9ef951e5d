"""Each vocabulary that crosses a service boundary has one source. Role names live in
svyaz.actors; a service or the gateway that spells one out again fails here."""

import re
from pathlib import Path

from svyaz import actors
from tests.conftest import ROOT

# words only a role is called: a string literal of one outside svyaz.actors is a copy
SPELLED = re.compile(r"""["'](program_admin|club_coordinator)["']""")
# the gateway's labels translate each role by its code, as they do every vocabulary
WORDING = {Path("services/gateway/gateway/labels.py")}


def sources() -> list[Path]:
    found = [*ROOT.glob("services/*/*/**/*.py"), *ROOT.glob("libs/svyaz/svyaz/*.py")]
    return [
        p.relative_to(ROOT)
        for p in found
        if "migrations" not in p.parts and "egg-info" not in str(p)
    ]


def test_role_names_are_spelled_only_in_svyaz_actors() -> None:
    copies = [
        f"{path}:{n}"
        for path in sources()
        if path not in WORDING and path != Path("libs/svyaz/svyaz/actors.py")
        for n, line in enumerate((ROOT / path).read_text().splitlines(), 1)
        if SPELLED.search(line)
    ]
    assert not copies, f"import the role from svyaz.actors instead: {copies}"


def test_the_roles_are_the_staff_roles_and_the_communicator() -> None:
    assert actors.ROLES == {*actors.STAFF_ROLES, actors.COMMUNICATOR}
    assert actors.ADMIN in actors.STAFF_ROLES and actors.FINANCE in actors.STAFF_ROLES

"""Program admins' clubs, trainings, staff and oversight, in the console and the
JSON API, against the real registry and notifications: every form's effect and its
refusal (the role gate of every route is tested in test_console_matrix)."""

import re
import uuid
from datetime import date, timedelta
from typing import Any

from gateway.oversight import reason_kind, why_not_kind
from svyaz import parked_messages
from svyaz.rpc import REPLAYED_COPY
from tests.gateway.integration.test_api import staff
from tests.gateway.integration.test_console import (
    csrf,
    signed_in_admin,
    signed_in_staff,
)
from tests.helpers import publish_raw, rewrite_access_log, wait_until
from tests.registry.integration.conftest import ADMIN_A, Registry, application
from tests.stipends.integration.conftest import Db

PASSWORD = "correct horse battery staple"


def account(system: Registry, email_roles: str) -> str:
    (row,) = system.sql(
        "SELECT id FROM accounts WHERE kind = 'staff' AND roles = :r", r=email_roles
    )
    return str(row[0])


def test_an_admin_runs_clubs_coordinators_and_trainings_in_the_console(
    system: Registry,
) -> None:
    admin, _ = signed_in_admin(system, "admin.clubs@example.org")
    # a coordinator enrols an authenticator at the first sign-in, as all staff
    coordinator, _, _ = signed_in_staff(
        system, "coordinator.one@example.org", ["club_coordinator"]
    )
    coordinator_id = account(system, "club_coordinator")
    finance_id = system.call(
        "create_staff_account",
        ADMIN_A,
        {"email": "fin.clubs@example.org", "roles": ["finance"], "password": PASSWORD},
    )["id"]
    page = admin.get(f"{system.url}/admin/clubs?lang=en", timeout=30)
    # the coordinator is chosen from a list: staff with the role, nobody else
    assert f'<option value="{coordinator_id}"' in page.text
    assert f'<option value="{finance_id}"' not in page.text
    assert '<option value="GE">Georgia</option>' in page.text  # a country select
    made = admin.post(
        f"{system.url}/admin/clubs",
        timeout=30,
        data={
            "csrf": csrf(page.text),
            "name": "Tbilisi Evenings",
            "country": "GE",
            "city": "Tbilisi",
            "mode": "offline",
            "coordinator": coordinator_id,
        },
    )
    assert made.status_code == 200 and "Tbilisi Evenings" in made.text
    ((club, chosen),) = system.sql("SELECT id::text, coordinator_id::text FROM clubs")
    assert chosen == coordinator_id

    edited = admin.post(
        f"{system.url}/admin/clubs/{club}",
        timeout=30,
        data={
            "csrf": csrf(page.text),
            "name": "Batumi Evenings",
            "country": "GE",
            "city": "Batumi",
            "mode": "online",
        },
    )
    assert edited.status_code == 200
    assert system.sql("SELECT name, city, mode FROM clubs") == [
        ("Batumi Evenings", "Batumi", "online")
    ]
    refused = admin.post(
        f"{system.url}/admin/clubs/{club}/coordinator?lang=en",
        timeout=30,
        data={"csrf": csrf(page.text), "action": "set", "account_id": finance_id},
    )
    assert refused.status_code == 400 and 'id="error"' in refused.text
    assert "does not hold the club coordinator role" in refused.text
    removed = admin.post(
        f"{system.url}/admin/clubs/{club}/coordinator",
        timeout=30,
        data={"csrf": csrf(page.text), "action": "remove"},
    )
    assert removed.status_code == 200
    assert system.sql("SELECT coordinator_id FROM clubs") == [(None,)]
    admin.post(
        f"{system.url}/admin/clubs/{club}/coordinator",
        timeout=30,
        data={"csrf": csrf(page.text), "action": "set", "account_id": coordinator_id},
    )
    assert system.sql("SELECT coordinator_id::text FROM clubs") == [(coordinator_id,)]

    added = admin.post(
        f"{system.url}/admin/trainings",
        timeout=30,
        data={
            "csrf": csrf(page.text),
            "title": "Listening",
            "held_on": "2026-11-01",
            "club_id": club,
        },
    )
    assert added.status_code == 200
    ((training, for_club),) = system.sql(
        "SELECT id::text, club_id::text FROM trainings"
    )
    assert for_club == club

    first, second = (system.active(club_id=club) for _ in range(2))
    outsider = system.active()
    form = admin.get(f"{system.url}/trainings/{training}?lang=en", timeout=30)
    for ident in (first, second, outsider):
        assert f'value="{ident}"' in form.text
    # the club's members first, marked; an outsider may be recorded as a guest
    labels = re.findall(
        r'<label class="candidate( member)?"><input[^>]+value="([^"]+)"', form.text
    )
    assert [ident for _, ident in labels][-1] == outsider
    assert {ident for mark, ident in labels if mark} == {first, second}
    done = admin.post(
        f"{system.url}/trainings/{training}?lang=en",
        timeout=30,
        data={"csrf": csrf(form.text), "communicator_ids": [first, second]},
    )
    assert 'id="recorded">2<' in done.text and 'id="already">0<' in done.text
    # the form drawn again marks who completed it, without a box to tick again
    for ident in (first, second):
        assert f'data-completed="{ident}"' in done.text
        assert f'value="{ident}"' not in done.text
    assert f'value="{outsider}"' in done.text and "completed it" in done.text
    again = admin.post(
        f"{system.url}/trainings/{training}?lang=en",
        timeout=30,
        data={"csrf": csrf(form.text), "communicator_ids": [first, outsider]},
    )
    assert 'id="recorded">1<' in again.text and 'id="already">1<' in again.text
    # everyone listed is recorded: no button to record anyone, and the page says so
    assert 'id="all-recorded"' in again.text
    assert "Record the ticked people" not in again.text
    assert (
        "Record the ticked people" in form.text and 'id="all-recorded"' not in form.text
    )
    # a training held later: nothing to tick yet, and the page says when
    later = system.call(
        "create_training",
        ADMIN_A,
        {"title": "Next month", "held_on": str(date.today() + timedelta(days=30))},
    )["id"]
    ahead = admin.get(f"{system.url}/trainings/{later}?lang=en", timeout=30)
    assert 'id="ahead"' in ahead.text and 'id="completions-form"' not in ahead.text
    assert "record who completed it on that day or after" in ahead.text
    nobody = admin.post(
        f"{system.url}/trainings/{training}?lang=en",
        timeout=30,
        data={"csrf": csrf(form.text)},
    )
    assert nobody.status_code == 400 and "Tick at least one person" in nobody.text

    # the club's coordinator: their club's trainings and members only
    home = coordinator.get(f"{system.url}/coordinator?lang=en", timeout=30)
    assert f'href="/trainings/{training}"' in home.text
    own = coordinator.get(f"{system.url}/trainings/{training}?lang=en", timeout=30)
    assert f'data-completed="{first}"' in own.text
    assert f'value="{outsider}"' not in own.text
    assert f'data-completed="{outsider}"' not in own.text  # not their member
    late = system.active(club_id=club)
    mixed = coordinator.post(
        f"{system.url}/trainings/{training}?lang=en",
        timeout=30,
        data={"csrf": csrf(own.text), "communicator_ids": [late, outsider]},
    )
    assert 'id="recorded">1<' in mixed.text and 'id="refused">1<' in mixed.text
    assert 'data-code="not_member"' in mixed.text and "not a member" in mixed.text
    assert system.sql("SELECT count(*) FROM training_completions") == [(4,)]


def test_clubs_and_trainings_through_the_api(system: Registry) -> None:
    admin = staff(system, ["program_admin"])
    coordinator = staff(system, ["club_coordinator"])
    bad = admin("POST", "/api/v1/clubs", {"name": "X", "country": "lv", "mode": "boat"})
    assert bad.status_code == 400
    assert {"name", "country", "mode"} <= set(bad.json()["errors"])
    made = admin(
        "POST",
        "/api/v1/clubs",
        {"name": "Riga Fridays", "country": "LV", "mode": "offline"},
    )
    assert made.status_code == 201 and made.json()["coordinator_id"] is None
    club = made.json()["id"]
    patched = admin("PATCH", f"/api/v1/clubs/{club}", {"city": "Riga"})
    assert patched.status_code == 200 and patched.json()["city"] == "Riga"
    named = admin(
        "PUT",
        f"/api/v1/clubs/{club}/coordinator",
        {"account_id": coordinator.actor["id"]},
    )
    assert named.json()["coordinator_id"] == coordinator.actor["id"]
    wrong = admin(
        "PUT", f"/api/v1/clubs/{club}/coordinator", {"account_id": admin.actor["id"]}
    )
    assert (
        wrong.status_code == 400 and wrong.json()["code"] == "coordinator_role_missing"
    )

    training = admin(
        "POST",
        "/api/v1/trainings",
        {"title": "Hard talks", "held_on": "2026-11-02", "club_id": club},
    )
    assert training.status_code == 201
    member = system.active(club_id=club)
    listed = coordinator("GET", f"/api/v1/clubs/{club}/members").json()
    assert listed["members"] == [
        {"id": member, "pseudonym": listed["pseudonyms"][0], "status": "active"}
    ]
    assert [t["id"] for t in coordinator("GET", "/api/v1/trainings").json()] == [
        training.json()["id"]
    ]
    stranger = str(uuid.uuid4())
    done = coordinator(
        "POST",
        f"/api/v1/trainings/{training.json()['id']}/completions",
        {"communicator_ids": [member, stranger]},
    )
    assert done.status_code == 200
    assert (done.json()["recorded"], done.json()["already"]) == (1, 0)
    assert [(r["communicator_id"], r["code"]) for r in done.json()["refused"]] == [
        (stranger, "not_member")
    ]
    # an empty list is the request's own fault, named as the document says
    empty = coordinator(
        "POST",
        f"/api/v1/trainings/{training.json()['id']}/completions",
        {"communicator_ids": []},
    )
    assert empty.status_code == 400 and empty.json()["code"] == "invalid_input"
    assert "communicator_ids" in empty.json()["errors"]
    answers = admin("GET", "/api/v1/openapi.json").json()["paths"][
        "/api/v1/trainings/{training_id}/completions"
    ]["post"]["responses"]
    assert not any("invalid_id_count" in a.get("x-codes", []) for a in answers.values())
    removed = admin("DELETE", f"/api/v1/clubs/{club}/coordinator")
    assert removed.status_code == 200 and removed.json()["coordinator_id"] is None
    assert coordinator("GET", f"/api/v1/clubs/{club}/members").status_code == 403

    # every admin route says what it answers
    document = admin("GET", "/api/v1/openapi.json").json()
    for path, operations in document["paths"].items():
        if (
            not path.startswith(
                (
                    "/api/v1/clubs",
                    "/api/v1/trainings",
                    "/api/v1/staff",
                    "/api/v1/access",
                )
            )
            and "parked" not in path
            and "review-items" not in path
        ):
            continue
        for method, operation in operations.items():
            for status, answer in operation["responses"].items():
                if status.startswith("2"):
                    schema = answer["content"]["application/json"]["schema"]
                    assert schema.get("additionalProperties") is not True, (
                        method,
                        path,
                    )


def test_staff_refusals_say_what_to_do(system: Registry) -> None:
    admin, page = signed_in_admin(system, "admin.staff@example.org")
    me = account(system, "program_admin")
    own = admin.post(
        f"{system.url}/admin/staff/{me}?lang=en",
        timeout=30,
        data={"csrf": csrf(page), "action": "disable", "confirmed": "yes"},
    )
    assert own.status_code == 403 and "Ask another admin" in own.text
    other = system.call(
        "create_staff_account",
        ADMIN_A,
        {"email": "lost.key@example.org", "roles": ["finance"], "password": PASSWORD},
    )["id"]
    asked = admin.post(
        f"{system.url}/admin/staff/{other}?lang=en",
        timeout=30,
        data={"csrf": csrf(page), "action": "reset", "reason": "phone lost"},
    )
    assert "another admin approves it" in asked.text
    (reset,) = system.sql("SELECT id::text FROM second_factor_resets")[0]
    same = admin.post(
        f"{system.url}/admin/second-factor-resets/{reset}?lang=en",
        timeout=30,
        data={"csrf": csrf(page)},
    )
    assert same.status_code == 403 and "Ask a colleague" in same.text
    listing = admin.get(f"{system.url}/admin/staff?lang=en", timeout=30)
    assert f"<code>{other[:8]}</code>" in listing.text and "Finance" in listing.text
    api = staff(system, ["program_admin"])
    assert api("POST", f"/api/v1/staff/{other}/disabling").json() == {
        "id": other,
        "disabled": True,
    }
    assert api("POST", f"/api/v1/staff/{other}/enabling").json() == {
        "id": other,
        "disabled": False,
    }


def test_the_access_log_is_verified_and_browsed_and_the_record_has_a_trail(
    system: Registry,
) -> None:
    data = application()
    ident = system.active(**data)
    admin, page = signed_in_admin(system, "admin.log@example.org")
    me = account(system, "program_admin")
    record = admin.get(f"{system.url}/admin/applications/{ident}?lang=en", timeout=30)
    assert "What is a vouch?" in record.text
    assert "one admin's approval instead of two" in record.text
    for step in ("applied", "activation_approved", "status_changed"):
        assert f'data-code="{step}"' in record.text
    assert "Under review → Active" in record.text

    verified = admin.post(
        f"{system.url}/admin/oversight/access-log/verification?lang=en",
        timeout=30,
        data={"csrf": csrf(page)},
    )
    assert 'data-intact="yes"' in verified.text and "is intact" in verified.text

    log = admin.get(
        f"{system.url}/admin/oversight/access-log?lang=en",
        params={"pseudonym": data["pseudonym"].upper(), "reader_id": me},
        timeout=30,
    )
    assert log.status_code == 200 and data["pseudonym"] in log.text
    assert 'data-code="legal_name">Full legal name<' in log.text
    assert data["legal_name"] not in log.text  # never the value
    assert '<td data-label="Why">vetting the application</td>' in log.text  # in words
    nobody = admin.get(
        f"{system.url}/admin/oversight/access-log?lang=en",
        params={"pseudonym": "nobody_by_that_name"},
        timeout=30,
    )
    assert 'id="no-reads"' in nobody.text
    bad = admin.get(
        f"{system.url}/admin/oversight/access-log?lang=en",
        params={"since": "yesterday"},
        timeout=30,
    )
    assert bad.status_code == 400 and "A filter is not right" in bad.text
    # days given the wrong way round are said to be, not "no reads match"
    swapped = admin.get(
        f"{system.url}/admin/oversight/access-log?lang=en",
        params={"since": "2026-12-08", "until": "2026-12-01"},
        timeout=30,
    )
    assert swapped.status_code == 400 and "swap them" in swapped.text

    api = staff(system, ["program_admin"])
    found = api("GET", f"/api/v1/access-log?pseudonym={data['pseudonym']}&limit=2")
    assert found.status_code == 200 and found.json()["limit"] == 2
    backwards = api("GET", "/api/v1/access-log?since=2026-12-08&until=2026-12-01")
    assert backwards.status_code == 400 and "until" in backwards.json()["errors"]
    assert {i["pseudonym"] for i in found.json()["items"]} == {data["pseudonym"]}
    trail = api("GET", f"/api/v1/communicators/{ident}/activity").json()
    assert [e["action"] for e in trail][:1] == ["applied"]

    # someone with the database owner's rights goes behind the trigger's back
    # and, lacking the access-log key, recomputes the chain's hashes with SHA-256
    rewrite_access_log(
        system.sql, system.sql("SELECT min(id) FROM pii_access_log")[0][0]
    )
    broken = admin.post(
        f"{system.url}/admin/oversight/access-log/verification?lang=en",
        timeout=30,
        data={"csrf": csrf(page)},
    )
    assert 'data-intact="no"' in broken.text and "tampered with" in broken.text
    assert api("GET", "/api/v1/access-log/verification").json()["intact"] is False


def test_parked_deliveries_and_messages_are_retried_or_discarded_with_a_reason(
    system: Registry, notifications: Db, rabbit_config: dict[str, Any]
) -> None:
    system.applicant()
    (delivery,) = wait_until(
        lambda: notifications.sql(
            "SELECT id FROM deliveries WHERE channel = 'email' AND status = 'sent'"
        ),
        "the application's mail",
        timeout=30,
    )[0]
    notifications.sql(
        "UPDATE deliveries SET status = 'parked', last_error = 'smtp: 421 busy' "
        "WHERE id = :i",
        i=delivery,
    )
    publish_raw(
        rabbit_config["AMQP_URI"], "registry.events", "communicator.applied.v1", b"{x"
    )
    admin, _ = signed_in_admin(system, "admin.parked@example.org")

    def parked_page() -> Any:
        page = admin.get(f"{system.url}/admin/oversight/parked?lang=en", timeout=30)
        return page if "It cannot be retried:" in page.text else None

    page = wait_until(parked_page, "the malformed message to be parked", timeout=30)
    assert f'id="delivery-{delivery}"' in page.text
    assert (
        'data-code="channel_failed">The mail or Telegram service failed<' in page.text
    )
    assert 'data-code="application_received">Application received<' in page.text
    assert "it would be refused again. Remove it." in page.text
    # the unreadable message offers only its removal
    section = page.text.split('id="service-notifications"')[1].split("</section>")[0]
    assert 'value="retry"' not in section and 'value="discard"' in section

    no_reason = admin.post(
        f"{system.url}/admin/oversight/parked/deliveries/{delivery}?lang=en",
        timeout=30,
        data={"csrf": csrf(page.text), "action": "retry", "reason": ""},
    )
    assert no_reason.status_code == 400 and "Say why" in no_reason.text
    retried = admin.post(
        f"{system.url}/admin/oversight/parked/deliveries/{delivery}?lang=en",
        timeout=30,
        data={"csrf": csrf(page.text), "action": "retry", "reason": "mail is back"},
    )
    assert retried.status_code == 200 and 'id="notice"' in retried.text
    assert "mail is back" in retried.text
    wait_until(
        lambda: notifications.sql(
            "SELECT 1 FROM deliveries WHERE id = :i AND status = 'sent'", i=delivery
        ),
        "the delivery to be sent again",
    )
    gone = admin.post(
        f"{system.url}/admin/oversight/parked/deliveries/{delivery}?lang=en",
        timeout=30,
        data={"csrf": csrf(page.text), "action": "discard", "reason": "twice"},
    )
    assert gone.status_code == 404 and "no longer parked" in gone.text

    message = section.split('action="/admin/oversight/parked/messages/')[1].split('"')[
        0
    ]
    cannot = admin.post(
        f"{system.url}/admin/oversight/parked/messages/{message}?lang=en",
        timeout=30,
        data={"csrf": csrf(page.text), "action": "retry", "reason": "try it"},
    )
    assert cannot.status_code == 409 and "cannot be handled again" in cannot.text
    removed = admin.post(
        f"{system.url}/admin/oversight/parked/messages/{message}?lang=en",
        timeout=30,
        data={"csrf": csrf(page.text), "action": "discard", "reason": "garbage"},
    )
    assert removed.status_code == 200 and "garbage" in removed.text

    api = staff(system, ["program_admin"])
    services = {s["service"]: s for s in api("GET", "/api/v1/parked-messages").json()}
    assert services["stipends"]["available"] is False  # not running in this test
    assert services["notifications"]["available"] is True
    actions = api("GET", "/api/v1/parked-actions").json()
    assert {
        (a["service"], a["action"], a["outcome"], a["reason"]) for a in actions
    } >= {
        ("notifications", "retry", "retried", "mail is back"),
        ("notifications", "discard", "discarded", "garbage"),
    }
    missing = api(
        "POST", "/api/v1/deliveries/parked/999999/retry", {"reason": "try again"}
    )
    assert missing.status_code == 404
    short = api("POST", f"/api/v1/deliveries/parked/{delivery}/retry", {"reason": ""})
    assert short.status_code == 400


def test_parking_reasons_in_plain_words() -> None:
    assert reason_kind(REPLAYED_COPY) == "replayed_copy"
    assert reason_kind("refused: InvalidSignature: bad") == "refused"
    assert reason_kind("malformed event: ValidationError: x") == "malformed"
    assert reason_kind(parked_messages.BROKER_REASONS["expired"]) == "broker_expired"
    assert reason_kind("KeyError: 'x'") == "failed"
    assert why_not_kind(parked_messages.WHY_NOT_RPC) == "rpc_request"
    assert why_not_kind(None) is None

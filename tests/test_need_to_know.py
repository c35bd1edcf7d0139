"""Need-to-know for call-attempt notes: only the handler holding the request, a
supervisor, or the note's own author read its text; everyone else sees that notes
exist. Runs the real app on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bot.content.model import Content
from bot.engine import Engine
from tests.conftest import clean, make_settings
from tests.dashboard_support import (
    TUESDAY_10,
    Clock,
    add_user,
    app_with_clock,
    make_request,
    signed_in,
)

ALICE_NOTE = "Alice: mum answered, try after four"
BOB_NOTE = "Bob: partner was in the room"
WITHHELD = "Notes kept for the handler holding this request and supervisors."


@pytest.fixture
def engine(db_url: str, tmp_path: Path, content: Content) -> Iterator[Engine]:
    clean(db_url)
    built = Engine(settings=make_settings(tmp_path, db_url), content=content)
    for name, role in (("alice", "handler"), ("bob", "handler"), ("cara", "handler")):
        add_user(built, name, role)
    add_user(built, "sue", "supervisor")
    yield built
    built.db.dispose()


class Desk:
    """One signed-in member of staff."""

    def __init__(self, engine: Engine, name: str) -> None:
        self.client, self.csrf = signed_in(app_with_clock(engine, Clock()), name)

    def post(self, path: str, **fields: str) -> None:
        response = self.client.post(
            path, data={"csrf_token": self.csrf, **fields}, follow_redirects=False
        )
        assert response.status_code == 303, response.text

    def page(self, reference: str) -> str:
        response = self.client.get(f"/dashboard/requests/{reference}")
        assert response.status_code == 200
        return response.text


def test_notes_are_read_only_by_the_holder_supervisors_and_their_author(engine: Engine) -> None:
    reference = make_request(engine, TUESDAY_10)
    alice, bob, cara, sue = (Desk(engine, name) for name in ("alice", "bob", "cara", "sue"))
    base = f"/dashboard/requests/{reference}"

    alice.post(base + "/claim")
    alice.post(base + "/attempts", kind="no_answer", notes=ALICE_NOTE)
    assert ALICE_NOTE in alice.page(reference)  # the holder
    assert ALICE_NOTE in sue.page(reference)  # a supervisor
    for other in (bob, cara):  # other handlers: that notes exist, not what they say
        seen = other.page(reference)
        assert ALICE_NOTE not in seen
        assert WITHHELD in seen
        assert "No answer" in seen

    alice.post(base + "/release")
    bob.post(base + "/claim")
    bob.post(base + "/attempts", kind="not_safe", notes=BOB_NOTE)
    held_by_bob = bob.page(reference)
    assert ALICE_NOTE in held_by_bob and BOB_NOTE in held_by_bob  # the new holder reads all
    by_alice = alice.page(reference)
    assert ALICE_NOTE in by_alice, "an author still reads what they wrote"
    assert BOB_NOTE not in by_alice and WITHHELD in by_alice
    by_cara = cara.page(reference)
    assert ALICE_NOTE not in by_cara and BOB_NOTE not in by_cara
    assert by_cara.count(WITHHELD) == 2
    by_sue = sue.page(reference)
    assert ALICE_NOTE in by_sue and BOB_NOTE in by_sue and WITHHELD not in by_sue


def test_an_attempt_without_notes_shows_no_withheld_marker(engine: Engine) -> None:
    reference = make_request(engine, TUESDAY_10)
    alice, bob = Desk(engine, "alice"), Desk(engine, "bob")
    alice.post(f"/dashboard/requests/{reference}/claim")
    alice.post(f"/dashboard/requests/{reference}/attempts", kind="no_answer")
    seen = bob.page(reference)
    assert "No answer" in seen and WITHHELD not in seen


def test_a_refused_attempt_page_keeps_need_to_know(engine: Engine) -> None:
    """The 409 re-render of the request page goes through the same rule."""
    reference = make_request(engine, TUESDAY_10, voicemail=False)
    alice = Desk(engine, "alice")
    alice.post(f"/dashboard/requests/{reference}/claim")
    alice.post(f"/dashboard/requests/{reference}/attempts", kind="no_answer", notes=ALICE_NOTE)
    bob = Desk(engine, "bob")
    client: TestClient = bob.client
    refused = client.post(
        f"/dashboard/requests/{reference}/attempts",
        data={"csrf_token": bob.csrf, "kind": "no_answer"},
    )
    assert refused.status_code == 422  # not bob's to record on
    assert ALICE_NOTE not in refused.text and WITHHELD in refused.text

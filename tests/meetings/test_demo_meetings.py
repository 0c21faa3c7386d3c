"""The demo's technical meeting: after ``load_demo`` the meeting of day 60 is on ngo2's agreement with
both parties, its minutes and signed PDF, and three commitments (done, open, overdue); the overdue
one waits on administrator@'s home page and nobody else's."""
from __future__ import annotations

import re

from sqlalchemy import select

from grants.audit import Actor
from grants.db import unit_of_work
from grants.demo import DOMAIN, load_demo
from grants.extensions import db
from grants.models import Agreement, Meeting, User
from grants.services import meetings
from tests.helpers import csrf_token, web_login


def test_the_demo_meeting_and_its_overdue_commitment_on_the_administrators_home(live_app):
    with live_app.app_context():
        with unit_of_work():
            load_demo(Actor.system("tests"))
        meeting = db.session.scalars(select(Meeting)).one()
        agreement = db.session.get(Agreement, meeting.agreement_id)
        ngo2 = db.session.scalars(select(User).where(User.email == f"ngo2@{DOMAIN}")).one()
        assert agreement.organization_id == ngo2.organization_id  # ngo2's agreement
        assert sorted(p.institution for p in meeting.participants) == ["ministry", "ministry", "ngo", "ngo"]
        assert [a.content_type for a in meetings.signed_minutes(meeting)] == ["application/pdf"]
        states = {c.description: (c.status, c.owner.email) for c in meeting.commitments}
        assert sorted(states.values()) == [("done", f"ngo2@{DOMAIN}"), ("open", f"administrator@{DOMAIN}"),
                                           ("open", f"ngo2@{DOMAIN}")]
        overdue = "Visitar los dos espacios seguros y verificar el mobiliario adquirido."
        assert states[overdue] == ("open", f"administrator@{DOMAIN}")
        meeting_id = meeting.id

    client = live_app.test_client()
    web_login(client, f"administrator@{DOMAIN}", "demo-2026")
    home = client.get("/").get_data(as_text=True)
    panel = re.search(r'data-testid="overdue-commitments">(.*?)</section>', home, re.S)
    assert panel and overdue in panel.group(1) and f"/meetings/{meeting_id}" in panel.group(1)
    assert "calendario de actividades de cierre" not in panel.group(1)  # not due yet
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    for other in ("ngo2", "monitoring"):
        web_login(client, f"{other}@{DOMAIN}", "demo-2026")
        assert 'data-testid="overdue-commitments"' not in client.get("/").get_data(as_text=True), other
        client.post("/logout", data={"csrf_token": csrf_token(client, "/")})

from sqlalchemy import func, select

from grants.extensions import db
from grants.models import AuditEvent, Organization
from tests.factories import make_organization


def test_a_creates(app):
    make_organization()
    assert db.session.scalar(select(func.count()).select_from(Organization)) == 1


def test_b_sees_nothing(app):
    assert db.session.scalar(select(func.count()).select_from(Organization)) == 0
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 0

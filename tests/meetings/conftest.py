import pytest

from tests.agreement_helpers import agreement_in_execution


@pytest.fixture
def ctx(app):
    """An agreement in execution of one NGO, with its administrator and the plan's reviewers."""
    return agreement_in_execution()

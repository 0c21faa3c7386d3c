"""The end-to-end id that joins a payment file to the bank's statement."""
import pytest

from grants.services.bank_ids import end_to_end_id, parse_end_to_end_id


@pytest.mark.parametrize("kind, record_id", [("payment", 1), ("advance", 45), ("payment", 123456789)])
def test_an_id_reads_back_as_what_it_names(kind, record_id):
    value = end_to_end_id(kind, record_id)
    assert len(value) <= 35 and value.isascii()
    assert parse_end_to_end_id(value) == (kind, record_id)
    assert parse_end_to_end_id(f"  {value.lower()} ") == (kind, record_id)


@pytest.mark.parametrize("value", [None, "", "FONDOS-PAG-", "FONDOS-XYZ-000001", "PAG-000001", "FONDOS-PAG-12",
                                   "FONDOS-PAG-000001-1", "NOTPROVIDED"])
def test_anything_else_is_not_ours(value):
    assert parse_end_to_end_id(value) is None


@pytest.mark.parametrize("kind, record_id", [("invoice", 1), ("payment", 0), ("payment", "7")])
def test_no_id_for_what_is_not_a_money_movement(kind, record_id):
    with pytest.raises(ValueError):
        end_to_end_id(kind, record_id)

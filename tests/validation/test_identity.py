"""DESIGN.md §7: DUI and NIT check digits, with the examples given there."""
import pytest

from grants.validation.identity import (
    IdentityError,
    normalize_dui,
    normalize_nit,
    normalize_nrc,
    normalize_phone,
    normalize_tax_id,
)


@pytest.mark.parametrize("dui", ["00016297-5", "12345678-4", "04567890-3"])
def test_valid_duis_from_the_design_are_accepted(dui):
    assert normalize_dui(dui) == dui


def test_dui_without_dash_or_with_spaces_is_normalized():
    assert normalize_dui(" 123456784 ") == "12345678-4"


@pytest.mark.parametrize(
    "dui, code",
    [
        ("00000000-0", "dui_zero"),
        ("12345678-5", "dui_check_digit"),
        ("00016297-4", "dui_check_digit"),
        ("1234567-4", "dui_format"),
        ("12345678-", "dui_format"),
        ("ABCDEFGH-1", "dui_format"),
        ("", "dui_format"),
        (None, "dui_format"),
    ],
)
def test_invalid_duis_are_rejected_with_a_reason(dui, code):
    with pytest.raises(IdentityError) as exc:
        normalize_dui(dui)
    assert exc.value.code == code


@pytest.mark.parametrize("nit", ["0614-050707-104-8", "0614-090291-107-1", "0614-010180-001-2"])
def test_valid_nits_from_the_design_are_accepted(nit):
    assert normalize_nit(nit) == nit


def test_nit_without_dashes_is_normalized():
    assert normalize_nit("06140507071048") == "0614-050707-104-8"


@pytest.mark.parametrize(
    "nit, code",
    [
        ("0614-050707-104-7", "nit_check_digit"),  # correlative > 100 variant, wrong digit
        ("0614-010180-001-3", "nit_check_digit"),  # correlative <= 100 variant, wrong digit
        ("0614-090291-107-0", "nit_check_digit"),
        ("2614-050707-104-8", "nit_format"),  # first digit must be 0, 1 or 9
        ("0614-320107-104-8", "nit_date"),  # 32nd day
        ("0614-050707-104", "nit_format"),
        ("hola", "nit_format"),
    ],
)
def test_invalid_nits_are_rejected_with_a_reason(nit, code):
    with pytest.raises(IdentityError) as exc:
        normalize_nit(nit)
    assert exc.value.code == code


def test_tax_id_accepts_an_adults_dui_or_a_company_nit():
    assert normalize_tax_id("00016297-5") == "00016297-5"
    assert normalize_tax_id("0614-050707-104-8") == "0614-050707-104-8"
    with pytest.raises(IdentityError):
        normalize_tax_id("00016297-4")


def test_nrc_has_one_to_eight_digits():
    assert normalize_nrc("1234-5") == "12345"
    for bad in ("", "123456789", "12a"):
        with pytest.raises(IdentityError):
            normalize_nrc(bad)


def test_phones_are_stored_as_eight_digits():
    assert normalize_phone("+503 2222-3333") == "22223333"
    assert normalize_phone("7012 4455") == "70124455"
    for bad in ("2222-333", "1222-3333", "phone"):
        with pytest.raises(IdentityError):
            normalize_phone(bad)


def test_the_dui_check_digit_shortcut_matches_the_definition():
    import random

    from grants.validation.identity import dui_check_digit

    def by_definition(digits):  # weights 9..2, then 10 minus the sum's last digit
        return (10 - sum(int(d) * w for d, w in zip(digits, range(9, 1, -1))) % 10) % 10

    rng = random.Random(7)
    samples = ["00000000", "99999999", "00016297"] + [f"{rng.randrange(10 ** 8):08d}" for _ in range(20_000)]
    samples += ["٠١٢٣٤٥٦٧", "１２３４５６７８", "1234567", "123456789"]  # other Unicode digits, other lengths
    for digits in samples:
        assert dui_check_digit(digits) == by_definition(digits), digits
    with pytest.raises(ValueError):
        dui_check_digit("1234567a")


@pytest.mark.parametrize("name", ["=HYPERLINK(1)", "+1", "-2+3", "@SUM(A1)", "\tAna", " =Ana", "\u00a0@Ana", " \tAna"])
def test_a_name_that_begins_like_a_formula_or_with_a_tab_is_refused(name):
    from grants.validation.identity import check_person_name

    with pytest.raises(IdentityError) as exc:
        check_person_name(name)
    assert exc.value.code == "name_formula"


@pytest.mark.parametrize("name", ["Ana María", "O'Neil", "Ana-María", "María José =", "", None, "Fundación 2+2"])
def test_names_are_otherwise_left_alone(name):
    from grants.validation.identity import check_person_name

    check_person_name(name)

from grants.validation.territory import find_municipality, municipalities


def test_the_2024_reform_has_44_municipalities():
    assert len(municipalities()) == 44


def test_municipalities_are_found_by_code_or_by_name_in_any_case_and_accents():
    assert find_municipality("0623")["name"] == "San Salvador Centro"
    assert find_municipality("san salvador centro")["code"] == "0623"
    assert find_municipality("AHUACHAPÁN NORTE")["code"] == "0113"
    assert find_municipality("Ahuachapan Norte")["code"] == "0113"
    assert find_municipality("Atlantis") is None

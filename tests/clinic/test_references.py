"""Request references: short, readable, found again in what people type."""

from clinic.references import ALPHABET, find_reference, new_reference


def test_references_are_short_and_readable():
    reference = new_reference("BK")
    assert len(reference) == 7 and reference.startswith("BK-")
    assert not set(reference[3:]) & set("01OIL")
    assert not set(ALPHABET) & set("01OIL")


def test_references_are_found_in_text():
    assert find_reference("please cancel bk 7q2m thanks", "BK") == "BK-7Q2M"
    assert find_reference("cancel BK-7Q2M", "BK") == "BK-7Q2M"
    assert find_reference("cancel my booking", "BK") is None
    assert find_reference("cancel RF-7Q2M", "BK") is None

"""Case references: CT-XXXX-XXXX from an alphabet that cannot be misread or spell a word,
unique in practice, and forgiving of how people type them back."""
from __future__ import annotations

import itertools
import random
import secrets

import pytest

from chalicelib.domain.reference import ALPHABET, PATTERN, new_reference, normalise_reference

LOOK_ALIKES = "0O1IL5S2Z8BUV"
VOWELS = "AEIOU"


def test_alphabet_has_no_look_alikes_and_no_vowels() -> None:
    assert not set(ALPHABET) & set(LOOK_ALIKES)
    assert not set(ALPHABET) & set(VOWELS)
    assert len(set(ALPHABET)) == len(ALPHABET) == 21
    assert ALPHABET == ALPHABET.upper()
    assert all(c.isdigit() or "A" <= c <= "Z" for c in ALPHABET)


def test_alphabet_is_every_other_digit_and_capital() -> None:
    everything = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    assert set(ALPHABET) == set(everything) - set(LOOK_ALIKES) - set(VOWELS)


def test_new_reference_format() -> None:
    for _ in range(200):
        ref = new_reference()
        assert PATTERN.match(ref), ref
        assert len(ref) == 12 and ref[:3] == "CT-" and ref[7] == "-"
        assert set(ref[3:7] + ref[8:]) <= set(ALPHABET)


@pytest.mark.parametrize(
    "ref",
    ["CT-0000-0000", "CT-ABCD-EFGH", "ct-7k3m-9qxr", "CT-7K3M9QXR", "CT-7K3M-9QX", "CT-7K3M-9QXRR", "XX-7K3M-9QXR",
     " CT-7K3M-9QXR", "CT-7K3M-9QXR\n", "CT-7K3O-9QXR"],
)
def test_pattern_rejects_anything_but_the_exact_form(ref: str) -> None:
    assert not PATTERN.match(ref)


def test_pattern_accepts_the_documented_example() -> None:
    assert PATTERN.match("CT-7K3M-9QXR")


def test_ten_thousand_references_are_distinct() -> None:
    rng = random.Random(20261221)  # seeded: the check is deterministic, never flaky
    refs = [new_reference(rng.choice) for _ in range(10_000)]
    assert len(set(refs)) == len(refs)


def test_the_real_generator_uses_the_whole_alphabet_in_every_position() -> None:
    # secrets.choice: a letter missing from a position has odds of about e**-97. (Uniqueness is
    # checked above with a seeded generator: with real randomness 10,000 references would clash
    # about once in 750 runs, which uniqueness at write time handles but a test must not.)
    refs = [new_reference() for _ in range(2_000)]
    for position in (3, 4, 5, 6, 8, 9, 10, 11):
        assert {ref[position] for ref in refs} == set(ALPHABET), position


def test_the_default_choice_is_cryptographic() -> None:
    assert new_reference.__defaults__ == (secrets.choice,)


def test_injected_choice_is_deterministic() -> None:
    cycle = itertools.cycle("7K3M9QXR")
    assert new_reference(lambda alphabet: next(cycle)) == "CT-7K3M-9QXR"
    assert new_reference(lambda alphabet: alphabet[0]) == "CT-3333-3333"
    assert new_reference(lambda alphabet: alphabet[-1]) == "CT-YYYY-YYYY"
    assert new_reference(random.Random(1).choice) == new_reference(random.Random(1).choice)


def test_choice_is_offered_the_alphabet_eight_times() -> None:
    offered = []

    def choice(alphabet: str) -> str:
        offered.append(alphabet)
        return alphabet[len(offered)]

    assert new_reference(choice) == f"CT-{ALPHABET[1:5]}-{ALPHABET[5:9]}"
    assert offered == [ALPHABET] * 8


# ----- normalising what people type ------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "CT-7K3M-9QXR",
        "ct-7k3m-9qxr",
        "Ct-7K3m-9qXr",
        "CT 7K3M 9QXR",
        "  ct 7k3m 9qxr  ",
        "CT7K3M9QXR",
        "ct7k3m9qxr",
        "CT-7K3M9QXR",
        "CT7K3M-9QXR",
        "7K3M-9QXR",
        "7k3m9qxr",
        "7K3M 9QXR",
        "C T - 7 K 3 M - 9 Q X R",
        "CT--7K3M--9QXR",
        "CT-7K3M-9QXR\t",
        "CT\u00a07K3M\u00a09QXR",  # a non-breaking space pasted from a letter
    ],
)
def test_normalise_accepts_what_people_type(typed: str) -> None:
    assert normalise_reference(typed) == "CT-7K3M-9QXR"


@pytest.mark.parametrize("ref", ["CT-CT34-6799", "CT-CDFG-HJKM", "CT-CTCT-CTCT"])
def test_a_reference_whose_characters_begin_with_ct_survives_without_its_prefix(ref: str) -> None:
    assert PATTERN.match(ref)
    bare = ref[3:]
    assert normalise_reference(ref) == ref
    assert normalise_reference(bare) == ref
    assert normalise_reference(bare.replace("-", "")) == ref
    assert normalise_reference(bare.lower()) == ref


@pytest.mark.parametrize(
    "typed",
    [
        "CT-7K3M-9QX0",  # zero
        "CT-7K3M-9QXO",  # letter O
        "CT-7K3M-9QX1",
        "CT-7K3M-9QXI",
        "CT-7K3M-9QXL",
        "CT-7K3M-9QX5",
        "CT-7K3M-9QXS",
        "CT-7K3M-9QX2",
        "CT-7K3M-9QXZ",
        "CT-7K3M-9QX8",
        "CT-7K3M-9QXB",
        "CT-7K3M-9QXU",
        "CT-7K3M-9QXV",
        "CT-7K3M-9QXA",  # a vowel
        "CT-7K3M-9QXE",
    ],
)
def test_normalise_rejects_look_alike_characters(typed: str) -> None:
    assert normalise_reference(typed) is None


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "   ",
        "CT",
        "CT-",
        "CT-7K3M",
        "CT-7K3M-9QX",  # 7 characters
        "CT-7K3M-9QXRR",  # 9 characters
        "7K3M9QX",
        "7K3M9QXRR",
        "CTCT7K3M9QXR",  # prefix twice
        "XX-7K3M-9QXR",  # another prefix
        "CT-7K3M_9QXR",  # underscore is not a separator
        "CT.7K3M.9QXR",
        "CT-7K3M-9QXR-7K3M",
        "CT-7K3M-9QX*",
        "CT-7K3M-9QXé",
    ],
)
def test_normalise_rejects_wrong_lengths_and_junk(typed: str) -> None:
    assert normalise_reference(typed) is None


def test_normalise_round_trips_every_generated_reference() -> None:
    rng = random.Random(7)
    for _ in range(500):
        ref = new_reference(rng.choice)
        assert normalise_reference(ref) == ref
        assert normalise_reference(ref.lower().replace("-", " ")) == ref
        assert normalise_reference(ref[3:].replace("-", "")) == ref

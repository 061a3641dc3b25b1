"""The confidence in words: the thresholds between likely clean, check, and a guess."""

from __future__ import annotations

import pytest

from layerlift.inference.confidence import (
    CHECK,
    CHECK_FROM,
    CLEAN,
    CLEAN_FROM,
    GUESS,
    confidence_text,
    confidence_words,
)


@pytest.mark.parametrize("confidence, words", [
    (1.0, CLEAN), (CLEAN_FROM, CLEAN), (CLEAN_FROM - 1e-6, CHECK), (CHECK_FROM, CHECK),
    (CHECK_FROM - 1e-6, GUESS), (0.0, GUESS)])
def test_words_change_at_the_thresholds(confidence, words):
    assert confidence_words(confidence) == words


def test_thresholds_and_text():
    assert (CLEAN_FROM, CHECK_FROM) == (0.6, 0.35)
    assert len({CLEAN, CHECK, GUESS}) == 3
    assert confidence_text(0.724) == f"confidence 72 %, {CLEAN}"

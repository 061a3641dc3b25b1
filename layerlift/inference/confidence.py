"""A decomposition's confidence (meta "confidence", in [0, 1]) in words a designer reads.

The classical engine predicts its own error by filling known surface beside the mask as if
it were unknown; the CLI's summary line and the app's Layers panel say the result in these
words. Engines that give no confidence (flux) keep showing their cycle error instead.
"""

from __future__ import annotations

# At or above CLEAN_FROM the fill is likely clean; below CHECK_FROM it is a guess.
CLEAN_FROM = 0.6
CHECK_FROM = 0.35

CLEAN = "likely clean"
CHECK = "check the fill here"
GUESS = "the fill is a guess here, check it"
# The classical engine found no mark inside the mask: nothing was filled, and a confidence
# of 0 % would send the designer to check a fill that is not there.
NOTHING_FOUND = "no mark found inside the mask: the object is the photo as it was"


def found_nothing(meta: dict) -> bool:
    """Whether the engine says it found no mark (meta "mark_fraction" 0; flux says nothing)."""
    fraction = meta.get("mark_fraction")
    return isinstance(fraction, int | float) and not isinstance(fraction, bool) and fraction == 0


def confidence_words(confidence: float) -> str:
    """`confidence` (higher is better) in words: likely clean, check, or a guess."""
    if confidence >= CLEAN_FROM:
        return CLEAN
    if confidence >= CHECK_FROM:
        return CHECK
    return GUESS


def confidence_text(confidence: float) -> str:
    """The percentage and the words, e.g. "confidence 72 %, likely clean"."""
    return f"confidence {confidence * 100:.0f} %, {confidence_words(confidence)}"

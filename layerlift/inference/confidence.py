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

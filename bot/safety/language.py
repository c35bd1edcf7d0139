"""Which shipped language a message is written in, offline.

lingua's low-accuracy mode (trigram models shipped inside the package, about
50 MB) restricted to the shipped languages. A short or mixed message may be
uncertain; then the caller keeps the conversation's language.
"""

from __future__ import annotations

from functools import lru_cache

from lingua import IsoCode639_1, LanguageDetectorBuilder

MIN_CONFIDENCE = 0.6


@lru_cache(maxsize=4)
def _detector(codes: tuple[str, ...]):  # noqa: ANN202 - lingua's own type
    languages = []
    for code in codes:
        try:
            languages.append(IsoCode639_1.from_str(code))
        except ValueError:
            continue
    if len(languages) < 2:
        return None
    return (
        LanguageDetectorBuilder.from_iso_codes_639_1(*languages)
        .with_low_accuracy_mode()
        .with_preloaded_language_models()
        .build()
    )


def detect(text: str, codes: tuple[str, ...]) -> str | None:
    """The likeliest shipped language of `text`, or None when unsure."""
    detector = _detector(codes)
    if detector is None or sum(ch.isalpha() for ch in text) < 3:
        return None
    found = detector.compute_language_confidence_values(text)
    if not found or found[0].value < MIN_CONFIDENCE:
        return None
    return found[0].language.iso_code_639_1.name.lower()

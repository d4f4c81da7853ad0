"""IDs that look alike: one stored form for them, and the characters that make them differ
unseen (validation.clean_id refuses those).

docs/rules.md, Identify: full-width and half-width forms are folded and the text NFC-normalized
(RFC 8265's preparation of usernames), not NFKC; characters that show nothing are refused.
"""

from __future__ import annotations

import unicodedata

# Values that browsers and SDKs send when a variable was never set: never a real identity.
JUNK_IDS = frozenset(
    {
        "anonymous", "null", "undefined", "0", "-1", "[object object]", "none", "nan", "nil",
        "false", "true", "guest", "unknown", "n/a", "na", "{}", "[]", "''", '""',
    }
)


def normalize_id(text: str) -> str:
    """One form for IDs that look alike, as usernames are prepared (RFC 8265, PRECIS):
    full-width and half-width forms become their usual ones ("ＢＯＢ" is "BOB", "ｶﾞ" is "ガ"),
    then NFC ("José" typed as e + a combining accent is "José").

    Not NFKC: other compatibility characters ("ﬁ", "²", "①", a no-break space) would be one
    ID under NFKC and another without it, so validation.clean_id refuses them rather than
    silently folding two IDs the customer's own system may tell apart into one profile.
    """
    if text.isascii():
        return text
    widened = "".join(
        unicodedata.normalize("NFKC", char)
        if unicodedata.decomposition(char).startswith(("<wide>", "<narrow>"))
        else char
        for char in text
    )
    return unicodedata.normalize("NFC", widened).strip()


def compatibility_character(text: str) -> str | None:
    """The first character with a compatibility mapping (NFKC would change it), if any."""
    if text.isascii():
        return None
    return next(
        (char for char in text if unicodedata.decomposition(char).startswith("<")), None
    )


# Zero-width non-joiner and joiner: format characters that Persian, Indic scripts and emoji
# sequences need inside a word.
JOINERS = frozenset("\u200c\u200d")
# Emoji presentation selectors: they belong right after a symbol ("❤️", "🏳️‍🌈"), nowhere else.
EMOJI_SELECTORS = frozenset("\ufe0e\ufe0f")
# Characters that show nothing though they are not control or format characters: Unicode's
# Default_Ignorable_Code_Point (Hangul fillers, the combining grapheme joiner, variation
# selectors, Khmer inherent vowels, Mongolian selectors, tags…) and the blank braille pattern.
INVISIBLE_RANGES = (
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160), (0x17B4, 0x17B5),
    (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x206F), (0x2800, 0x2800),
    (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF),
)


def invisible_character(text: str) -> str | None:
    """The first character that shows nothing: a control (Cc) or format (Cf) character (zero-
    width spaces, BOMs, bidi overrides...) or an invisible filler (INVISIBLE_RANGES).

    They make two IDs that look the same differ (or hide a placeholder), so they are refused
    rather than silently dropped. A joiner or an emoji selector is kept where a script or an
    emoji uses one (see _is_joining, _is_emoji_selector).
    """
    if text.isascii():  # the common case: only C0 controls and DEL are unprintable in ASCII
        return next((char for char in text if not char.isprintable()), None)
    for index, char in enumerate(text):
        if _shows_nothing(char) and not (
            _is_joining(text, index) or _is_emoji_selector(text, index)
        ):
            return char
    return None


def _shows_nothing(char: str) -> bool:
    code = ord(char)
    if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp"):
        return True
    return any(low <= code <= high for low, high in INVISIBLE_RANGES)


def _is_joining(text: str, index: int) -> bool:
    """A joiner between two visible characters, one of them beyond ASCII ("می‌خواهم", "👩‍💻").

    Between two ASCII letters, at an end or next to a space it changes nothing that shows, so
    there it is as invisible as a zero-width space.
    """
    if text[index] not in JOINERS or index == 0 or index == len(text) - 1:
        return False
    before, after = text[index - 1], text[index + 1]
    return (
        _is_visible(before) and _is_visible(after) and not (before.isascii() and after.isascii())
    )


def _is_emoji_selector(text: str, index: int) -> bool:
    """An emoji presentation selector right after a symbol beyond ASCII ("❤️"); after a letter,
    a digit, at the start or after another selector it shows nothing."""
    if text[index] not in EMOJI_SELECTORS or index == 0:
        return False
    before = text[index - 1]
    return not before.isascii() and unicodedata.category(before) == "So"


def _is_visible(char: str) -> bool:
    return (not char.isspace() and not _shows_nothing(char)) or char in EMOJI_SELECTORS


def junk_key(text: str) -> str:
    """The form compared with JUNK_IDS: full-width or odd-case "ｎｕｌｌ" is still "null", and a
    joiner hidden inside ("nul\u200dｌ") does not make it something else."""
    if text.isascii():
        return text.lower()
    visible = "".join(char for char in text if char not in JOINERS)
    return unicodedata.normalize("NFKC", visible).casefold().strip()

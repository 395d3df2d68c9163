"""The two pseudo-languages of the shipped toy model (``mtqa/data/models/toy-cipher``).

The toy model "translates" English into two letter ciphers, so every translation it makes
can be checked exactly: ``cipher(source, lang)`` is the one right answer.

- ``x-rot13``: ROT13 (a→n, b→o, …, n→a).
- ``x-atbash``: Atbash (a↔z, b↔y, …).

Only the ASCII letters a–z and A–Z change (case is kept); every other character, digits,
punctuation, whitespace and non-ASCII letters included, is left as it is. Both ciphers are
involutions: applying one twice gives the text back.

This module is pure Python (no torch, no model) so tests can import it cheaply.
"""

from __future__ import annotations

import string
from typing import Callable

__all__ = ["CIPHERS", "TOY_LANGS", "atbash", "cipher", "rot13"]

_LOWER = string.ascii_lowercase
_UPPER = string.ascii_uppercase

_ROT13 = str.maketrans(_LOWER + _UPPER, _LOWER[13:] + _LOWER[:13] + _UPPER[13:] + _UPPER[:13])
_ATBASH = str.maketrans(_LOWER + _UPPER, _LOWER[::-1] + _UPPER[::-1])


def rot13(text: str) -> str:
    """ROT13 on ASCII letters, case kept; everything else unchanged."""
    return text.translate(_ROT13)


def atbash(text: str) -> str:
    """Atbash (a↔z, b↔y, …) on ASCII letters, case kept; everything else unchanged."""
    return text.translate(_ATBASH)


CIPHERS: dict[str, Callable[[str], str]] = {"x-rot13": rot13, "x-atbash": atbash}

TOY_LANGS: tuple[str, ...] = ("x-rot13", "x-atbash")


def cipher(text: str, lang: str) -> str:
    """The exact translation the toy model should produce for ``text`` into ``lang``."""
    try:
        fn = CIPHERS[lang]
    except KeyError:
        raise ValueError(f"unknown toy language {lang!r} (known: {', '.join(TOY_LANGS)})") from None
    return fn(text)

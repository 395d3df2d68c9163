import re

import pytest

from mtqa.errors import MtqaError
from mtqa.langs import (
    LANGUAGES,
    MIRACL_LANGS,
    XQUAD_LANGS,
    check_lang,
    flores_code,
    from_flores,
    from_marian_code,
    language_name,
    m2m100_token,
)

PAPER_LANGS = ["ar", "zh", "en", "de", "hi", "ru", "es", "th", "tr"]
COMMON_LANGS = ["pt", "it", "nl", "pl", "uk", "ja", "ko", "he", "fr", "sv", "cs", "id", "vi", "fa"]


@pytest.mark.parametrize("code", sorted(set(XQUAD_LANGS + MIRACL_LANGS + PAPER_LANGS + COMMON_LANGS)))
def test_benchmark_and_common_languages_are_known(code):
    assert check_lang(code) == code
    # NLLB's FLORES-200 codes: ISO 639-3 and ISO 15924 script, e.g. deu_Latn.
    assert re.fullmatch(r"[a-z]{3}_[A-Z][a-z]{3}", flores_code(code)), flores_code(code)


def test_at_least_fifty_languages():
    assert len(LANGUAGES) >= 50


def test_check_lang_normalises_case_and_space():
    assert check_lang(" DE ") == "de"


def test_unknown_code_is_one_line_listing_the_known_ones():
    with pytest.raises(MtqaError) as e:
        check_lang("xx")
    message = str(e.value)
    assert message.startswith("unknown language code 'xx' (known: af, am, ar, ")
    assert message.endswith(", zh, zu)")
    assert "\n" not in message


def test_family_codes():
    assert [flores_code(c) for c in ("de", "zh", "ar", "fa", "sw")] == [
        "deu_Latn",
        "zho_Hans",
        "arb_Arab",
        "pes_Arab",
        "swh_Latn",
    ]
    assert m2m100_token("de") == "__de__"
    assert from_flores("zho_Hans") == "zh"
    assert from_flores("ace_Arab") is None
    assert language_name("el") == "Greek"


def test_language_without_flores_code():
    with pytest.raises(MtqaError, match="^language 'br' has no FLORES-200 code"):
        flores_code("br")


def test_marian_codes():
    assert [from_marian_code(c) for c in ("de", "deu", "fra", "cmn", "ara", "x-rot13", "cmn_Hans")] == [
        "de",
        "de",
        "fr",
        "zh",
        "ar",
        "x-rot13",
        "cmn_Hans",
    ]


def test_flores_codes_are_nllb_codes():
    nllb = pytest.importorskip("transformers.models.nllb.tokenization_nllb")
    ours = {flores for _, flores in LANGUAGES.values() if flores}
    assert ours - set(nllb.FAIRSEQ_LANGUAGE_CODES) == set()
    assert len(ours) == len([f for _, f in LANGUAGES.values() if f])  # no two codes share a FLORES code

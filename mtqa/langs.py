"""Language codes: ISO 639-1 for users, the model families' own codes inside the engine.

mtqa names languages by ISO 639-1 (``de``, ``zh``), as XQuAD, MIRACL and the ``lang``
column of the output do. Each model family spells them its own way:

- NLLB-200 uses FLORES-200 codes (``deu_Latn``, ``zho_Hans``, ``arb_Arab``): :func:`flores_code`.
- M2M100 uses ``__xx__`` with the ISO 639-1 code: :func:`m2m100_token`.
- Multi-target Marian (OPUS-MT) models use ``>>xx<<`` tokens, ISO 639-1 or 639-3 inside:
  :func:`from_marian_code` maps the 639-3 ones back.

``LANGUAGES`` covers the XQuAD and MIRACL languages and the other common ones that the
families share; a language without a FLORES-200 entry has ``None`` there.
"""

from __future__ import annotations

from mtqa.errors import MtqaError

# ISO 639-1 -> (English name, FLORES-200 code or None)
LANGUAGES: dict[str, tuple[str, str | None]] = {
    "af": ("Afrikaans", "afr_Latn"),
    "am": ("Amharic", "amh_Ethi"),
    "ar": ("Arabic", "arb_Arab"),
    "as": ("Assamese", "asm_Beng"),
    "az": ("Azerbaijani", "azj_Latn"),
    "ba": ("Bashkir", "bak_Cyrl"),
    "be": ("Belarusian", "bel_Cyrl"),
    "bg": ("Bulgarian", "bul_Cyrl"),
    "bn": ("Bengali", "ben_Beng"),
    "bo": ("Tibetan", "bod_Tibt"),
    "br": ("Breton", None),
    "bs": ("Bosnian", "bos_Latn"),
    "ca": ("Catalan", "cat_Latn"),
    "cs": ("Czech", "ces_Latn"),
    "cy": ("Welsh", "cym_Latn"),
    "da": ("Danish", "dan_Latn"),
    "de": ("German", "deu_Latn"),
    "el": ("Greek", "ell_Grek"),
    "en": ("English", "eng_Latn"),
    "eo": ("Esperanto", "epo_Latn"),
    "es": ("Spanish", "spa_Latn"),
    "et": ("Estonian", "est_Latn"),
    "eu": ("Basque", "eus_Latn"),
    "fa": ("Persian", "pes_Arab"),
    "ff": ("Fula", "fuv_Latn"),
    "fi": ("Finnish", "fin_Latn"),
    "fo": ("Faroese", "fao_Latn"),
    "fr": ("French", "fra_Latn"),
    "fy": ("Western Frisian", None),
    "ga": ("Irish", "gle_Latn"),
    "gd": ("Scottish Gaelic", "gla_Latn"),
    "gl": ("Galician", "glg_Latn"),
    "gu": ("Gujarati", "guj_Gujr"),
    "ha": ("Hausa", "hau_Latn"),
    "he": ("Hebrew", "heb_Hebr"),
    "hi": ("Hindi", "hin_Deva"),
    "hr": ("Croatian", "hrv_Latn"),
    "ht": ("Haitian Creole", "hat_Latn"),
    "hu": ("Hungarian", "hun_Latn"),
    "hy": ("Armenian", "hye_Armn"),
    "id": ("Indonesian", "ind_Latn"),
    "ig": ("Igbo", "ibo_Latn"),
    "is": ("Icelandic", "isl_Latn"),
    "it": ("Italian", "ita_Latn"),
    "ja": ("Japanese", "jpn_Jpan"),
    "jv": ("Javanese", "jav_Latn"),
    "ka": ("Georgian", "kat_Geor"),
    "kk": ("Kazakh", "kaz_Cyrl"),
    "km": ("Khmer", "khm_Khmr"),
    "kn": ("Kannada", "kan_Knda"),
    "ko": ("Korean", "kor_Hang"),
    "ky": ("Kyrgyz", "kir_Cyrl"),
    "lb": ("Luxembourgish", "ltz_Latn"),
    "lg": ("Ganda", "lug_Latn"),
    "ln": ("Lingala", "lin_Latn"),
    "lo": ("Lao", "lao_Laoo"),
    "lt": ("Lithuanian", "lit_Latn"),
    "lv": ("Latvian", "lvs_Latn"),
    "mg": ("Malagasy", "plt_Latn"),
    "mi": ("Maori", "mri_Latn"),
    "mk": ("Macedonian", "mkd_Cyrl"),
    "ml": ("Malayalam", "mal_Mlym"),
    "mn": ("Mongolian", "khk_Cyrl"),
    "mr": ("Marathi", "mar_Deva"),
    "ms": ("Malay", "zsm_Latn"),
    "mt": ("Maltese", "mlt_Latn"),
    "my": ("Burmese", "mya_Mymr"),
    "ne": ("Nepali", "npi_Deva"),
    "nl": ("Dutch", "nld_Latn"),
    "no": ("Norwegian", "nob_Latn"),
    "ny": ("Chichewa", "nya_Latn"),
    "oc": ("Occitan", "oci_Latn"),
    "om": ("Oromo", "gaz_Latn"),
    "or": ("Odia", "ory_Orya"),
    "pa": ("Punjabi", "pan_Guru"),
    "pl": ("Polish", "pol_Latn"),
    "ps": ("Pashto", "pbt_Arab"),
    "pt": ("Portuguese", "por_Latn"),
    "ro": ("Romanian", "ron_Latn"),
    "ru": ("Russian", "rus_Cyrl"),
    "rw": ("Kinyarwanda", "kin_Latn"),
    "sd": ("Sindhi", "snd_Arab"),
    "si": ("Sinhala", "sin_Sinh"),
    "sk": ("Slovak", "slk_Latn"),
    "sl": ("Slovenian", "slv_Latn"),
    "sn": ("Shona", "sna_Latn"),
    "so": ("Somali", "som_Latn"),
    "sq": ("Albanian", "als_Latn"),
    "sr": ("Serbian", "srp_Cyrl"),
    "ss": ("Swati", "ssw_Latn"),
    "st": ("Southern Sotho", "sot_Latn"),
    "su": ("Sundanese", "sun_Latn"),
    "sv": ("Swedish", "swe_Latn"),
    "sw": ("Swahili", "swh_Latn"),
    "ta": ("Tamil", "tam_Taml"),
    "te": ("Telugu", "tel_Telu"),
    "tg": ("Tajik", "tgk_Cyrl"),
    "th": ("Thai", "tha_Thai"),
    "ti": ("Tigrinya", "tir_Ethi"),
    "tk": ("Turkmen", "tuk_Latn"),
    "tl": ("Tagalog", "tgl_Latn"),
    "tn": ("Tswana", "tsn_Latn"),
    "tr": ("Turkish", "tur_Latn"),
    "tt": ("Tatar", "tat_Cyrl"),
    "ug": ("Uyghur", "uig_Arab"),
    "uk": ("Ukrainian", "ukr_Cyrl"),
    "ur": ("Urdu", "urd_Arab"),
    "uz": ("Uzbek", "uzn_Latn"),
    "vi": ("Vietnamese", "vie_Latn"),
    "wo": ("Wolof", "wol_Latn"),
    "xh": ("Xhosa", "xho_Latn"),
    "yi": ("Yiddish", "ydd_Hebr"),
    "yo": ("Yoruba", "yor_Latn"),
    "zh": ("Chinese (Simplified)", "zho_Hans"),
    "zu": ("Zulu", "zul_Latn"),
}

# ISO 639-3 (and macrolanguage) codes that OPUS-MT's ``>>xxx<<`` tokens use, where they differ
# from the first part of the FLORES-200 code.
_ISO639_3_ALIASES = {
    "ara": "ar",
    "fas": "fa",
    "per": "fa",
    "swa": "sw",
    "cmn": "zh",
    "msa": "ms",
    "nor": "no",
    "lav": "lv",
    "mon": "mn",
    "aze": "az",
    "sqi": "sq",
    "uzb": "uz",
    "pus": "ps",
    "nep": "ne",
    "orm": "om",
    "mlg": "mg",
    "fry": "fy",
    "bre": "br",
}
_ISO639_3 = {flores.split("_")[0]: code for code, (_, flores) in LANGUAGES.items() if flores} | _ISO639_3_ALIASES

XQUAD_LANGS = ["ar", "de", "el", "en", "es", "hi", "ro", "ru", "th", "tr", "vi", "zh"]
MIRACL_LANGS = "ar bn de en es fa fi fr hi id ja ko ru sw te th yo zh".split()


def check_lang(code: str) -> str:
    """The ISO 639-1 code ``code`` (trimmed, lower-cased), or ``MtqaError`` if mtqa does not know it."""
    norm = code.strip().lower() if isinstance(code, str) else code
    if norm not in LANGUAGES:
        raise MtqaError(f"unknown language code {code!r} (known: {', '.join(sorted(LANGUAGES))})")
    return norm


def language_name(code: str) -> str:
    return LANGUAGES[check_lang(code)][0]


def flores_code(code: str) -> str:
    """The FLORES-200 (NLLB) code of an ISO 639-1 code: ``de`` -> ``deu_Latn``."""
    flores = LANGUAGES[check_lang(code)][1]
    if flores is None:
        raise MtqaError(f"language '{code}' has no FLORES-200 code, so NLLB models cannot translate it")
    return flores


def m2m100_token(code: str) -> str:
    """The M2M100 language token of an ISO 639-1 code: ``de`` -> ``__de__``."""
    return f"__{check_lang(code)}__"


def from_flores(flores: str) -> str | None:
    """The ISO 639-1 code of a FLORES-200 code, or None when ``LANGUAGES`` has none."""
    return _FROM_FLORES.get(flores)


def from_marian_code(code: str) -> str:
    """The mtqa code for the language inside a Marian ``>>code<<`` token.

    ISO 639-1 codes stay; ISO 639-3 codes of known languages become ISO 639-1 (``deu`` ->
    ``de``); anything else (``cmn_Hans``, ``x-rot13``) is kept as the model spells it.
    """
    if code in LANGUAGES:
        return code
    return _ISO639_3.get(code, code)


_FROM_FLORES = {flores: code for code, (_, flores) in LANGUAGES.items() if flores}

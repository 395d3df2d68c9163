"""What mtqa knows about the datasets it reads from and about the Hub's metadata vocabulary.

A build's manifest says which sources it read (a Hub id and revision, a file and its
sha256); it does not always say under which licence they are distributed or how to cite
them. :data:`KNOWN_SOURCES` holds that for the sources whose cards were checked, keyed by Hub
id; :func:`known_source` finds the entry of one manifest source. A source that is not here
and whose manifest entry has no ``license`` needs ``--source-license NAME=ID``.

:data:`HUB_LICENSES` are the licence identifiers the Hub accepts in a card's ``license:``
(huggingface.co/docs/hub/repositories-licenses); the other vocabularies (creators,
multilinguality, size categories, languages) are read from the ``datasets`` package's own
resource files by :mod:`mtqa.hub.validate`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class KnownSource:
    """A dataset mtqa reads from: what its card states."""

    hub_id: str
    title: str
    license: str  # a Hub licence identifier
    url: str
    citation: str  # BibTeX


PAPER_CITATION = """@misc{elmahdy2024synergistic,
  title         = {Synergistic Approach for Simultaneous Optimization of Monolingual, Cross-lingual, and Multilingual Information Retrieval},
  author        = {Elmahdy, Adel and Lin, Sheng-Chieh and Ahmad, Amin},
  year          = {2024},
  eprint        = {2408.10536},
  archivePrefix = {arXiv},
  primaryClass  = {cs.CL},
  url           = {https://arxiv.org/abs/2408.10536}
}"""

_XQUAD = KnownSource(
    "google/xquad", "XQuAD", "cc-by-sa-4.0", "https://github.com/google-deepmind/xquad",
    """@inproceedings{artetxe-etal-2020-cross,
  title     = {On the Cross-lingual Transferability of Monolingual Representations},
  author    = {Artetxe, Mikel and Ruder, Sebastian and Yogatama, Dani},
  booktitle = {Proceedings of the 58th Annual Meeting of the Association for Computational Linguistics},
  year      = {2020},
  pages     = {4623--4637}
}""")

_SQUAD_CITATION = """@inproceedings{rajpurkar-etal-2016-squad,
  title     = {{SQ}u{AD}: 100,000+ Questions for Machine Comprehension of Text},
  author    = {Rajpurkar, Pranav and Zhang, Jian and Lopyrev, Konstantin and Liang, Percy},
  booktitle = {Proceedings of the 2016 Conference on Empirical Methods in Natural Language Processing},
  year      = {2016},
  pages     = {2383--2392}
}"""

KNOWN_SOURCES: dict[str, KnownSource] = {s.hub_id: s for s in (
    _XQUAD,
    KnownSource("rajpurkar/squad", "SQuAD v1.1", "cc-by-sa-4.0", "https://rajpurkar.github.io/SQuAD-explorer/",
                _SQUAD_CITATION),
    KnownSource("rajpurkar/squad_v2", "SQuAD v2.0", "cc-by-sa-4.0", "https://rajpurkar.github.io/SQuAD-explorer/",
                """@inproceedings{rajpurkar-etal-2018-know,
  title     = {Know What You Don't Know: Unanswerable Questions for {SQ}u{AD}},
  author    = {Rajpurkar, Pranav and Jia, Robin and Liang, Percy},
  booktitle = {Proceedings of the 56th Annual Meeting of the Association for Computational Linguistics (Volume 2: Short Papers)},
  year      = {2018},
  pages     = {784--789}
}"""),
    KnownSource("sentence-transformers/natural-questions", "Natural Questions (pairs)", "cc-by-sa-3.0",
                "https://ai.google.com/research/NaturalQuestions",
                """@article{kwiatkowski-etal-2019-natural,
  title   = {Natural Questions: A Benchmark for Question Answering Research},
  author  = {Kwiatkowski, Tom and Palomaki, Jennimaria and Redfield, Olivia and Collins, Michael and Parikh, Ankur and Alberti, Chris and Epstein, Danielle and Polosukhin, Illia and Devlin, Jacob and Lee, Kenton and Toutanova, Kristina and Jones, Llion and Kelcey, Matthew and Chang, Ming-Wei and Dai, Andrew M. and Uszkoreit, Jakob and Le, Quoc and Petrov, Slav},
  journal = {Transactions of the Association for Computational Linguistics},
  volume  = {7},
  year    = {2019},
  pages   = {452--466}
}"""),
    KnownSource("facebook/mlqa", "MLQA", "cc-by-sa-3.0", "https://github.com/facebookresearch/MLQA",
                """@inproceedings{lewis-etal-2020-mlqa,
  title     = {{MLQA}: Evaluating Cross-lingual Extractive Question Answering},
  author    = {Lewis, Patrick and Oguz, Barlas and Rinott, Ruty and Riedel, Sebastian and Schwenk, Holger},
  booktitle = {Proceedings of the 58th Annual Meeting of the Association for Computational Linguistics},
  year      = {2020},
  pages     = {7315--7330}
}"""),
)}

# Source kinds (or spec prefixes) that read a known dataset from a local copy: the embedded
# XQuAD excerpt, and the parallel layouts ``xquad:DIR`` and ``mlqa:DIR``.
_KIND_TO_HUB_ID = {"sample": "google/xquad", "xquad": "google/xquad", "mlqa": "facebook/mlqa"}


def known_source(source: dict) -> KnownSource | None:
    """The catalogue entry of one manifest source (``Manifest.sources`` item), if any."""
    hub_id = source.get("hub_id")
    if hub_id in KNOWN_SOURCES:
        return KNOWN_SOURCES[hub_id]
    prefix = str(source.get("spec") or "").partition(":")[0] if ":" in str(source.get("spec") or "") else None
    hub_id = _KIND_TO_HUB_ID.get(str(source.get("kind"))) or _KIND_TO_HUB_ID.get(prefix or "")
    return KNOWN_SOURCES.get(hub_id) if hub_id else None


#: Licence identifiers the Hub accepts (huggingface.co/docs/hub/repositories-licenses).
HUB_LICENSES: frozenset[str] = frozenset("""
apache-2.0 mit openrail bigscience-openrail-m creativeml-openrail-m bigscience-bloom-rail-1.0
bigcode-openrail-m afl-3.0 artistic-2.0 bsl-1.0 bsd bsd-2-clause bsd-3-clause bsd-3-clause-clear c-uda
cc cc0-1.0 cc-by-2.0 cc-by-2.5 cc-by-3.0 cc-by-4.0 cc-by-sa-3.0 cc-by-sa-4.0 cc-by-nc-2.0 cc-by-nc-3.0
cc-by-nc-4.0 cc-by-nd-4.0 cc-by-nc-nd-3.0 cc-by-nc-nd-4.0 cc-by-nc-sa-2.0 cc-by-nc-sa-3.0
cc-by-nc-sa-4.0 cdla-sharing-1.0 cdla-permissive-1.0 cdla-permissive-2.0 wtfpl ecl-2.0 epl-1.0
epl-2.0 etalab-2.0 eupl-1.1 eupl-1.2 agpl-3.0 gfdl gpl gpl-2.0 gpl-3.0 lgpl lgpl-2.1 lgpl-3.0 isc
h-research intel-research lppl-1.3c ms-pl apple-ascl apple-amlr mpl-2.0 odc-by odbl openrail++
osl-3.0 postgresql ofl-1.1 ncsa unlicense zlib pddl lgpl-lr deepfloyd-if-license llama2 llama3
llama3.1 llama3.2 llama3.3 llama4 gemma unknown other
""".split())


def hub_license(value: str | None) -> str | None:
    """A licence as the Hub spells it (``CC-BY-SA-4.0`` → ``cc-by-sa-4.0``), or None when the
    Hub does not know it."""
    if not value:
        return None
    spelled = str(value).strip().lower()
    return spelled if spelled in HUB_LICENSES else None

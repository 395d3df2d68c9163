"""What a dataset card states about a build, as typed records: :func:`dataset_facts`.

Every figure comes from the build's :class:`~mtqa.pipeline.manifest.Manifest` (its typed
accessors: ``count``, ``filter_by_language``, ``stages[...].seconds``, ``langs``,
``rejected``, ``sources``, ``model``) or from what :func:`~mtqa.hub.export.export_build`
wrote (the rows per config and split it counted while writing them). No stat string is
parsed. The template (``mtqa/hub/templates/dataset_card.md``, linked from
``data_cards/``) only lays these records out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mtqa import __version__
from mtqa.errors import MtqaError
from mtqa.hub.catalog import PAPER_CITATION, hub_license, known_source
from mtqa.hub.export import ORIGIN, DatasetExport
from mtqa.pipeline import stats as S
from mtqa.pipeline.manifest import Manifest
from mtqa.schema import Origin

ORIGIN_SOURCE, ORIGIN_HUMAN, ORIGIN_MT = Origin.SOURCE.value, Origin.HUMAN.value, Origin.MT.value
ORIGINS = (ORIGIN_SOURCE, ORIGIN_HUMAN, ORIGIN_MT)
SIZE_BOUNDS = ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
               (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"), (1_000_000_000, "100M<n<1B"))


@dataclass(frozen=True, slots=True)
class SourceFact:
    """One source the build read: where from, which version, under which licence."""

    name: str
    kind: str
    location: str  # a Hub id, or the file as the manifest names it
    revision: str | None  # the Hub commit, or the file's sha256
    split: str | None
    license: str  # a Hub licence identifier
    license_stated_by: str  # "the manifest", "the XQuAD card", or "the publisher (`--source-license`)"
    title: str | None = None
    url: str | None = None
    hub_id: str | None = None
    citation: str | None = None


@dataclass(frozen=True, slots=True)
class CheckFact:
    """One filter check: its reason name, what makes a row fail, and per language the share failing."""

    reason: str
    fails_when: str
    failed: dict[str, int]  # lang -> rows failing it


@dataclass(frozen=True, slots=True)
class LanguageRows:
    """One language: rows built per origin (before the filter), ids its source lacked, rows
    judged and kept by the filter, rows published and rejected, rows per split."""

    lang: str
    judged: int
    kept: int
    published: int
    rejected: int
    origins: dict[str, int]
    ids_missing: int | None  # None: the build did not count them
    splits: dict[str, int]

    @property
    def kept_share(self) -> float | None:
        return self.kept / self.judged if self.judged else None


@dataclass(frozen=True, slots=True)
class StageTime:
    """One build step's time and what it processed (seconds summed over chunks, partitions and reruns)."""

    stage: str
    seconds: float
    items: int
    unit: str

    @property
    def per_second(self) -> float | None:
        return self.items / self.seconds if self.seconds > 0 else None


@dataclass(frozen=True)
class DatasetFacts:
    """Everything the dataset card says, from the manifest and the export."""

    repo: str
    pretty_name: str
    source_lang: str
    langs: tuple[str, ...]
    sources: tuple[SourceFact, ...]
    model: dict | None  # name, model, family, fingerprint
    decoding: dict
    filter_mode: str
    human_mode: str | None  # what the filter does to failing human rows (None: the build has no such setting)
    filter_settings: dict
    checks: tuple[CheckFact, ...]
    rows: tuple[LanguageRows, ...]
    origins_from: str  # a sentence: where the per-origin counts come from
    stages: tuple[StageTime, ...]
    translated_segments: int
    cache_hits: int
    source_tokens: int
    target_tokens: int
    total_rows: int
    build_version: str
    publish_version: str
    identity_sha256: str
    pipeline_name: str
    lid_unjudged: tuple[str, ...]
    toy_model: bool
    citations: tuple[tuple[str, str], ...]  # (what, BibTeX)
    licenses: tuple[str, ...]  # distinct source licences, in source order
    annotations_creators: tuple[str, ...]
    language_creators: tuple[str, ...]
    size_category: str
    source_datasets: tuple[str, ...]
    spans: tuple = ()  # mtqa.pipeline.manifest.LanguageSpanCounts of the given (human) translations
    title_split: object | None = None  # mtqa.pipeline.manifest.TitleSplitRecord
    not_in_source: dict = field(default_factory=dict)  # lang -> questions a parallel source lacked in the source language
    limits: tuple[str, ...] = field(default=())

    @property
    def translate_seconds(self) -> float:
        return next((s.seconds for s in self.stages if s.stage == "translate"), 0.0)

    @property
    def steps_seconds(self) -> float:
        return sum(s.seconds for s in self.stages)

    @property
    def rows_per_second(self) -> float | None:
        return self.total_rows / self.steps_seconds if self.steps_seconds > 0 else None

    @property
    def counts_ids_missing(self) -> bool:
        return any(r.ids_missing is not None for r in self.rows)

    @property
    def origins_present(self) -> tuple[str, ...]:
        found = {o for r in self.rows for o, n in r.origins.items() if n}
        return tuple(o for o in ORIGINS if o in found) + tuple(sorted(found - set(ORIGINS)))


def _source_fact(source: dict, overrides: dict[str, str]) -> SourceFact:
    name = str(source.get("name") or source.get("spec") or "?")
    kind = str(source.get("kind") or "?")
    known = known_source(source)
    if source.get("hub_id"):
        location = str(source["hub_id"]) + (f" ({source['config']})" if source.get("config") else "")
        revision = source.get("revision") or source.get("requested_revision")
    else:
        location = str(source.get("origin") or source.get("path") or source.get("spec") or name)
        revision = f"sha256 {source['sha256']}" if source.get("sha256") else None
        files = source.get("files")
        if revision is None and isinstance(files, dict) and files:
            revision = f"{len(files)} files, each one's sha256 in manifest.json"
    if name in overrides:
        license, stated = overrides[name], "the publisher (`--source-license`)"
    elif hub_license(source.get("license")):
        license, stated = hub_license(source.get("license")), "the manifest"
    elif known is not None:
        license, stated = known.license, f"the {known.title} card"
    else:
        raise MtqaError(f"the licence of source {name!r} ({location}) is not known to mtqa: pass "
                        f"--source-license {name}=LICENSE (the Hub licence id its terms allow, e.g. cc-by-sa-4.0)")
    return SourceFact(name=name, kind=kind, location=location, revision=revision, split=source.get("split"),
                      license=license, license_stated_by=stated, title=known.title if known else None,
                      url=known.url if known else None, hub_id=known.hub_id if known else source.get("hub_id"),
                      citation=known.citation if known else None)


def _describe_check(reason: str, settings: dict) -> str:
    from mtqa.steps.filters import CHECKS, Reason

    try:
        doc = CHECKS[Reason(reason)].__doc__ or reason
    except ValueError:
        return reason
    text = " ".join(doc.split())

    def setting(m: re.Match) -> str:
        key = m.group(1)
        return f"`{key}` = {settings[key]}" if key in settings else f"`{key}`"

    return re.sub(r"``(\w+)``", setting, text)


def _origin_counts(manifest: Manifest, export: DatasetExport
                   ) -> tuple[dict[str, dict[str, int]], dict[str, int] | None, str]:
    """Rows per language and origin, ids missing per language, and a sentence saying where
    they come from: the manifest's assemble counts (builds since issue 11); else the published
    rows' ``origin`` column; else implied (the source language is the source, the rest MT)."""
    records = manifest.origin_counts()
    if any(r.rows for r in records):
        return ({r.lang: {ORIGIN_SOURCE: r.source, ORIGIN_HUMAN: r.human, ORIGIN_MT: r.mt} for r in records},
                {r.lang: r.ids_missing for r in records},
                "Rows built per origin, before the filter, as the build counted them; *ids missing*: the "
                "build's questions the sources had no translation of in that language (machine-translated, "
                "or left out without MT).")
    if export.origins is not None:
        return export.origins, None, f"Published rows per origin, from the rows' `{ORIGIN}` column."
    rejected = manifest.rejected.get("langs") or {}
    built = {lang: manifest.langs.get(lang, 0) + int(rejected.get(lang, 0)) for lang in export.langs}
    return ({lang: {ORIGIN_SOURCE if lang == manifest.source_lang else ORIGIN_MT: n} for lang, n in built.items()},
            None, f"The build records no origins: its {manifest.source_lang} rows are the source and every other "
                  "row is machine-translated (rows built, before the filter).")


def _size_category(rows: int) -> str:
    for bound, label in SIZE_BOUNDS:
        if rows < bound:
            return label
    return "n>1T" if rows > 10**12 else "1B<n<10B"


def _stages(manifest: Manifest) -> tuple[StageTime, ...]:
    # The reader's own seconds are left out: it is timed between the chunks it yields, so its
    # figure includes the time the later steps spent on the previous chunk.
    spec = [("segment", S.SEGMENTS, "segments"),
            ("dedup", S.SEGMENTS, "segments"), ("translate", S.SOURCE_TOKENS, "source tokens"),
            ("assemble", S.ROWS_OUT, "rows"), ("filter", S.ROWS_IN, "rows judged"),
            ("write", S.ROWS_OUT, "rows written")]
    return tuple(StageTime(stage, manifest.stage(stage).seconds, manifest.count(stage, key), unit)
                 for stage, key, unit in spec if stage in manifest.stages)


def known_limits(facts: DatasetFacts) -> tuple[str, ...]:
    """The limits of machine-translated QA a reader should weigh, for this build."""
    limits = []
    if facts.toy_model:
        limits.append("**Toy model.** The translations were made by mtqa's toy cipher model: the "
                      "pseudo-languages are not natural languages. This dataset tests a pipeline; it is not "
                      "training or evaluation data.")
    mt = any(r.origins.get(ORIGIN_MT) for r in facts.rows)
    if mt:
        limits += [
            "**Unreviewed machine translation.** No person checked the `mt` rows. Expect mistranslations, "
            "translationese (word order and phrasing calqued from English) and names transliterated "
            "inconsistently. The filter removes gross failures only.",
            "**Sentence by sentence.** Passages were translated one sentence at a time, so context across "
            "sentences is lost: pronouns, terms and names can be rendered differently in two sentences of one "
            "passage. A sentence that occurs twice always gets the same translation.",
            "**Answers projected, not verified by people.** Each answer's sentence was translated once more with "
            "the answer marked, and the marked span taken when it occurs in the plain translation; otherwise the "
            "answer translated on its own was matched in the passage (exactly, then fuzzily, nearest the projected "
            "position). Every emitted span is a substring of its passage, but it can cover a different phrase than "
            "the annotator's (a wrong inflection, a repeated word); `answer_start` is -1 where nothing was found, "
            "and such rows fail `answer_lost`. The counts per method are under Answer projection.",
            "**Heuristic filter.** The checks catch empty, truncated, repeated, copied and wrong-language output "
            "with fixed thresholds; a row that passes is not thereby a good translation.",
        ]
    if any(r.origins.get(ORIGIN_HUMAN) for r in facts.rows):
        limits.append("**Human translations as given.** The `human` rows are the parallel source's own translations, "
                      "with their own answer spans; each span was checked against its passage (see Answer spans), "
                      "and the quality filter flags such rows rather than dropping them.")
    if facts.lid_unjudged:
        limits.append(f"**Language not identified** for {', '.join(facts.lid_unjudged)}: the language "
                      "identifier does not know these languages, so `wrong_language` could not fail there.")
    limits.append(
        f"**{facts.source_lang}-centric content.** Every question and passage was first written in "
        f"{facts.source_lang} (mostly from Wikipedia): topics, entities and the way questions are asked are those "
        "of the source, not of native speakers of the other languages. Scores measured on translated test data "
        "can differ from scores on native data.")
    if any(r.rejected for r in facts.rows):
        limits.append("**Rows the filter dropped** are missing from the language configs; the `parallel` config "
                      "has nulls in their place. Skip nulls when pairing languages.")
    if len(set(facts.licenses)) > 1 or any(lic.startswith("cc-by-sa") for lic in facts.licenses):
        limits.append("**Licence.** ShareAlike and attribution terms of the sources carry over to this data and "
                      "to what is derived from it.")
    return tuple(limits)


def dataset_facts(manifest: Manifest, export: DatasetExport, *, repo: str,
                  source_licenses: dict[str, str] | None = None) -> DatasetFacts:
    """The card's records for a build and what was exported from it."""
    overrides = dict(source_licenses or {})
    sources = tuple(_source_fact(s, overrides) for s in manifest.sources)
    unknown = set(overrides) - {s.name for s in sources}
    if unknown:
        raise MtqaError(f"--source-license names no source of this build: {', '.join(sorted(unknown))} "
                        f"(its sources: {', '.join(s.name for s in sources)})")
    settings = dict(manifest.pipeline.get("filter") or {})
    try:
        by_lang = {c.lang: c for c in manifest.filter_by_language()}
    except MtqaError:
        by_lang = {}
    checks = tuple(CheckFact(reason, _describe_check(reason, settings),
                             {lang: c.failed.get(reason, 0) for lang, c in by_lang.items()})
                   for reason in settings.get("checks") or manifest.filter_failures())
    origins, missing, origins_from = _origin_counts(manifest, export)
    language_configs = {c.name: c for c in export.configs if c.kind == "language"}
    rejected = manifest.rejected.get("langs") or {}
    rows = tuple(LanguageRows(
        lang=lang,
        judged=by_lang[lang].rows if lang in by_lang else 0,
        kept=by_lang[lang].kept if lang in by_lang else 0,
        published=manifest.langs.get(lang, 0),
        rejected=int(rejected.get(lang, 0)),
        origins=origins.get(lang, {}),
        ids_missing=missing.get(lang) if missing is not None else None,
        splits=language_configs[lang].split_rows() if lang in language_configs else {},
    ) for lang in export.langs)
    present = {o for r in rows for o, n in r.origins.items() if n}
    creators = tuple(c for o, c in ((ORIGIN_HUMAN, "expert-generated"), (ORIGIN_MT, "machine-generated"))
                     if o in present) or ("machine-generated",)
    model = manifest.model or {}
    licenses = tuple(dict.fromkeys(s.license for s in sources))
    citations = [("the paper mtqa implements (hybrid batch training)", PAPER_CITATION)]
    citations += [(s.title or s.name, s.citation) for s in sources if s.citation]
    facts = DatasetFacts(
        repo=repo,
        pretty_name=f"mtqa: {' + '.join(dict.fromkeys(s.title or s.name for s in sources))} in "
                    f"{len(export.langs)} languages",
        source_lang=manifest.source_lang,
        langs=export.langs,
        sources=sources,
        model={k: model.get(k) for k in ("name", "model", "family", "fingerprint")} if model else None,
        decoding=dict(model.get("decoding") or {}),
        filter_mode=str(settings.get("mode") or "drop"),
        human_mode=settings.get("human_mode"),
        filter_settings={k: v for k, v in settings.items() if k not in ("mode", "human_mode", "checks", "lid")},
        checks=checks,
        rows=rows,
        origins_from=origins_from,
        stages=_stages(manifest),
        translated_segments=manifest.count("translate", S.TRANSLATED),
        cache_hits=manifest.count("translate", S.CACHE_HITS),
        source_tokens=manifest.count("translate", S.SOURCE_TOKENS),
        target_tokens=manifest.count("translate", S.TARGET_TOKENS),
        total_rows=manifest.rows,
        build_version=manifest.mtqa_version,
        publish_version=__version__,
        identity_sha256=manifest.identity_sha256,
        pipeline_name=str(manifest.pipeline.get("name") or ""),
        lid_unjudged=export.lid_unjudged,
        toy_model=model.get("model") == "toy",
        citations=tuple(dict.fromkeys(citations)),
        licenses=licenses,
        annotations_creators=tuple(sorted(creators)),
        language_creators=tuple(sorted({"found", *creators})),
        size_category=_size_category(manifest.rows),
        source_datasets=tuple(dict.fromkeys(f"extended|{s.hub_id}" for s in sources if s.hub_id)),
        spans=tuple(manifest.span_counts()),
        title_split=manifest.title_split(),
        not_in_source={lang: n for lang, n in manifest.not_in_source().items() if n},
    )
    return _with_limits(facts)


def _with_limits(facts: DatasetFacts) -> DatasetFacts:
    from dataclasses import replace

    return replace(facts, limits=known_limits(facts))

"""The dataset card: parsed by `DatasetCard.load`, metadata valid offline, every figure the
manifest's, and data_cards/mtqa-default.md generated from the same template."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from huggingface_hub import DatasetCard, DatasetCardData

from mtqa.hub.config import PublishConfig
from mtqa.hub.publish import publish
from mtqa.hub.validate import check_dataset_card, dataset_metadata_problems
from mtqa.pipeline import stats as S
from mtqa.pipeline.manifest import Manifest

DATA_CARDS = Path(__file__).resolve().parents[2] / "data_cards"
DEFAULT_REPO = "mtqa/mtqa-default"  # the repo id data_cards/mtqa-default.md was rendered for


@pytest.fixture(scope="module")
def default_card(default_build, tmp_path_factory):
    stage = tmp_path_factory.mktemp("stage") / "hub"
    publish(PublishConfig(folder=str(default_build), repo=DEFAULT_REPO, dry_run=True, stage=str(stage)))
    return stage, DatasetCard.load(stage / "README.md", ignore_metadata_errors=False)


def test_the_card_parses_and_its_metadata_validates(default_card):
    stage, card = default_card
    assert isinstance(card.data, DatasetCardData)
    assert dataset_metadata_problems(card.data, stage) == []
    data = card.data
    assert data.license == "cc-by-sa-4.0"  # the sample's licence, from the manifest
    assert data.language == ["en"]  # x-rot13 / x-atbash are not ISO 639 codes
    assert data.multilinguality == "translation"
    assert data.annotations_creators == ["machine-generated"]
    assert data.size_categories == ["n<1K"]
    assert data.task_categories == ["question-answering", "text-retrieval"]
    assert data.source_datasets == ["extended|google/xquad"]
    assert [c["config_name"] for c in data.configs] == ["en", "x-rot13", "x-atbash", "parallel"]
    assert [c.get("default", False) for c in data.configs] == [False, False, False, True]
    assert data.configs[1]["data_files"] == [{"split": "test", "path": "x-rot13/test-*.parquet"}]


def test_every_figure_is_the_manifests(default_card, default_build):
    _, card = default_card
    m = Manifest.load(default_build)
    text = card.text
    assert m.model["fingerprint"] in text and m.identity_sha256 in text and m.mtqa_version in text
    for key, value in m.model["decoding"].items():
        assert f"`{key}` = {value}" in text
    filter_rows = {c.lang: c for c in m.filter_by_language()}
    kept_line = next(line for line in text.splitlines() if line.startswith("| **kept** |"))
    assert kept_line == "| **kept** | passed every check |" + "".join(
        f" {filter_rows[lang].kept / filter_rows[lang].rows:.1%} |" for lang in ("en", "x-rot13", "x-atbash"))
    for reason in m.pipeline["filter"]["checks"]:
        assert f"| `{reason}` |" in text
    from tests.hub.test_dataset import markdown_table

    table = markdown_table(text, "## Rows per language and origin")
    for r in m.origin_counts():
        assert table[r.lang]["published"] == f"{m.langs[r.lang]:,}"
        assert (table[r.lang]["source"], table[r.lang]["mt"], table[r.lang]["ids missing"]) == \
            (f"{r.source:,}", f"{r.mt:,}", f"{r.ids_missing:,}")
    assert "human" not in table["en"]  # no human rows in the default build
    segment = m.stage("segment")
    assert f"| segment | {segment.seconds:.2f} | {m.count('segment', S.SEGMENTS):,} segments |" in text
    assert f"{m.count('translate', S.CACHE_HITS) + m.count('translate', S.TRANSLATED):,}" in text or \
        f"{m.count('translate', S.CACHE_HITS):,} came from" in text
    assert "google-deepmind/xquad" in text and "sha256 " + m.sources[0]["sha256"] in text
    for heading in ("## Sources", "## Translation", "## Quality filter", "## Rows per language and origin",
                    "## Build throughput", "## Code version", "## Known limits", "## Licence", "## Citation"):
        assert heading in text
    assert "Toy model" in text and "Language not identified** for x-rot13, x-atbash" in text
    assert "@misc{elmahdy2024synergistic" in text and "@inproceedings{artetxe-etal-2020-cross" in text
    assert "{{" not in text and "{%" not in text


@pytest.mark.parametrize("field, value, problem", [
    ("license", "cc-by-sa", "not a Hub licence identifier"),
    ("multilinguality", "bilingual", "not a multilinguality"),
    ("annotations_creators", ["robots"], "not an annotation creator"),
    ("size_categories", ["tiny"], "not a size category"),
    ("language", ["x-rot13"], "not an ISO 639 code"),
    ("configs", [{"config_name": "en", "data_files": [{"split": "test", "path": "nowhere/*.parquet"}]}],
     "matches no file"),
    ("configs", [{"data_files": "en/*.parquet"}], "config_name"),
])
def test_the_offline_check_catches_bad_metadata(default_card, field, value, problem):
    stage, card = default_card
    data = DatasetCardData(**{**card.data.to_dict(), field: value})
    assert any(problem in p for p in dataset_metadata_problems(data, stage))


def test_a_card_that_does_not_validate_is_one_line(default_card, tmp_path):
    from mtqa.errors import MtqaError

    stage, card = default_card
    broken = tmp_path / "README.md"
    broken.write_text(str(card).replace("license: cc-by-sa-4.0", "license: cc-by-sa"), encoding="utf-8")
    with pytest.raises(MtqaError, match="license: 'cc-by-sa' is not a Hub licence identifier"):
        check_dataset_card(broken)
    broken.write_text("---\nlicense: [unclosed\n---\n", encoding="utf-8")
    with pytest.raises(MtqaError, match="not a valid dataset card"):
        check_dataset_card(broken)


def _structure(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("#")]


def test_data_cards_default_is_the_template_rendered(default_card):
    """data_cards/mtqa-default.md is `mtqa publish` of the default build (data_cards/README.md
    says how to regenerate it): same metadata and sections; only timings and versions differ."""
    _, card = default_card
    shipped = DatasetCard.load(DATA_CARDS / "mtqa-default.md", ignore_metadata_errors=False)
    assert dataset_metadata_problems(shipped.data) == []
    fresh = card.data.to_dict()
    assert shipped.data.to_dict() == fresh
    assert _structure(shipped.text) == _structure(card.text)
    volatile = re.compile(r"\d[\d,.]*|`0\.1\.0[^`]*`")
    assert volatile.sub("#", shipped.text.split("## Build throughput")[0]) == \
        volatile.sub("#", card.text.split("## Build throughput")[0])

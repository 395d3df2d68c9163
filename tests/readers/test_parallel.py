"""Parallel sources: xquad:, mlqa: and parallel: specs, joined by id or position."""

import json
from pathlib import Path

import pytest

from mtqa.readers import open_source
from mtqa.readers.parallel import SKIP_NOT_IN_SOURCE
from tests.readers.helpers import error_of, read_all


def squad(path: Path, articles) -> Path:
    """``articles``: [(title, [(context, [(id, question, [(text, start)] or None for impossible)])])]."""
    data = []
    for title, paragraphs in articles:
        paras = []
        for context, qas in paragraphs:
            items = []
            for qid, question, answers in qas:
                qa = {"id": qid, "question": question}
                if answers is None:
                    qa.update(is_impossible=True, answers=[])
                else:
                    qa["answers"] = [{"text": t, "answer_start": s} for t, s in answers]
                items.append(qa)
            paras.append({"context": context, "qas": items})
        data.append({"title": title, "paragraphs": paras})
    path.write_text(json.dumps({"version": "1.1", "data": data}, ensure_ascii=False), encoding="utf-8")
    return path


EN = [("Paris", [("Paris is in France.", [("q1", "Where is Paris?", [("France", 12)]),
                                            ("q2", "What is Paris?", [("Paris", 0)])])]),
      ("Rome", [("Rome is old.", [("q3", "Is Rome old?", [("old", 8)])])])]
DE = [("Paris", [("Paris liegt in Frankreich.", [("q1", "Wo liegt Paris?", [("Frankreich", 15)]),
                                                   ("q2", "Was ist Paris?", [("Paris", 3)])])]),  # start off by 3
      ("Rome", [("Rom ist alt.", [("q3", "Ist Rom alt?", [("alt", 8)]),
                                  ("q9", "Nur auf Deutsch?", [("alt", 8)])])])]  # q9: no English row


@pytest.fixture
def xquad_dir(tmp_path):
    squad(tmp_path / "xquad.en.json", EN)
    squad(tmp_path / "xquad.de.json", DE)
    squad(tmp_path / "xquad.es.json", [("Paris", [("París está en Francia.", [("q1", "¿Dónde está París?",
                                                                                 [("Francia", 15)])])])])
    return tmp_path


def test_xquad_rows_carry_the_translations_the_files_give(xquad_dir):
    src = open_source(f"xquad:{xquad_dir}")
    assert src.langs == ("en", "de", "es") and src.name == "xquad" and src.split == "test"
    rows = read_all(f"xquad:{xquad_dir}").to_pylist()
    assert [r["id"] for r in rows] == ["xquad:q1", "xquad:q2", "xquad:q3"]
    q1, q2, q3 = rows
    assert [t["lang"] for t in q1["parallel"]] == ["de", "es"]
    assert q1["parallel"][0] == {"lang": "de", "origin": "human", "title": "Paris", "question": "Wo liegt Paris?",
                                 "passage": "Paris liegt in Frankreich.",
                                 "answers": [{"text": "Frankreich", "answer_start": 15}]}
    # A translation's span is kept as written (assemble checks it), not moved to the text.
    assert q2["parallel"][0]["answers"] == [{"text": "Paris", "answer_start": 3}]
    assert [t["lang"] for t in q3["parallel"]] == ["de"]  # no Spanish q3
    assert q1["answers"] == [{"text": "France", "answer_start": 12}]


def test_questions_without_a_source_row_are_counted_per_language(xquad_dir):
    src = open_source(f"xquad:{xquad_dir}")
    list(src.batches())
    assert src.stats.counts[f"skipped_{SKIP_NOT_IN_SOURCE}"] == 1
    described = src.describe()
    assert described["ids"] == {"en": 3, "de": 4, "es": 1}
    assert described["matched"] == {"de": 3, "es": 1}
    assert described["not_in_source"] == {"de": 1, "es": 0}
    assert set(described["files"]) == {"en", "de", "es"} and len(described["files"]["de"]["sha256"]) == 64


def test_position_join_pairs_files_whose_ids_differ(tmp_path):
    en = squad(tmp_path / "dev-en.json", [("A", [("One two.", [("x1", "Q1?", [("two", 4)]), ("x2", "Q2?", None)])])])
    pt = squad(tmp_path / "dev-pt.json", [("B", [("Zzz.", [("other", "Unmatched?", [("Zzz", 0)])])]),
                                          ("A", [("Um dois.", [("p1", "P1?", [("dois", 3)]), ("p2", "P2?", None)])])])
    rows = read_all(f"parallel:en={en}+pt={pt}+join=position").to_pylist()
    assert [(r["id"], r["split"], [t["question"] for t in r["parallel"]]) for r in rows] == [
        ("dev_en:x1", "dev", ["P1?"]), ("dev_en:x2", "dev", ["P2?"])]
    src = open_source(f"parallel:en={en}+pt={pt}+join=position+name=mine")
    assert src.name == "mine"
    assert src.describe()["matched"] == {"pt": 2} and src.describe()["is_impossible_differs"] == {"pt": 0}
    by_id = read_all(f"parallel:en={en}+pt={pt}").to_pylist()
    assert all(r["parallel"] is None for r in by_id)  # joined by id, nothing matches


def test_mlqa_reads_same_language_files_of_one_split(tmp_path):
    dev = tmp_path / "dev"
    dev.mkdir()
    squad(dev / "dev-context-en-question-en.json", EN)
    squad(dev / "dev-context-de-question-de.json", DE)
    squad(dev / "dev-context-de-question-en.json", EN)  # cross-language: not read
    test = tmp_path / "test"
    test.mkdir()
    squad(test / "test-context-en-question-en.json", EN[:1])
    assert "has dev and test files: pick one with --split" in error_of(open_source, f"mlqa:{tmp_path}")
    src = open_source(f"mlqa:{tmp_path}", split="dev")
    assert src.langs == ("en", "de") and src.split == "dev"
    rows = read_all(f"mlqa:{tmp_path}", split="dev").to_pylist()
    assert [r["id"] for r in rows] == ["mlqa:q1", "mlqa:q2", "mlqa:q3"]
    assert rows[0]["parallel"][0]["passage"] == "Paris liegt in Frankreich."
    assert "no train files (splits found: dev, test)" in error_of(open_source, f"mlqa:{tmp_path}", split="train")


@pytest.mark.parametrize("spec, message", [
    ("parallel:de={de}", "no en=PATH"),
    ("parallel:en={en}+en={en}", "two files for en"),
    ("parallel:en={en}+de={de}+colour=red", "'colour' is neither a language code nor join/name"),
    ("parallel:en={en}+nothing", "expected parallel:LANG=PATH"),
    ("parallel:en={en}+de={de}+join=title", "join must be one of id, position"),
    ("xquad:{missing}", "is not a folder"),
])
def test_bad_parallel_specs_are_one_line(tmp_path, spec, message):
    en, de = squad(tmp_path / "en.json", EN), squad(tmp_path / "de.json", DE)
    assert message in error_of(open_source, spec.format(en=en, de=de, missing=tmp_path / "none"))


def test_a_translation_file_with_an_id_twice_is_refused(tmp_path):
    en = squad(tmp_path / "en.json", EN)
    de = squad(tmp_path / "de.json", [("Paris", [("X.", [("q1", "A?", [("X", 0)]), ("q1", "B?", [("X", 0)])])])])
    assert "id 'q1' appears twice in the de file" in error_of(open_source, f"parallel:en={en}+de={de}")


# -- real data ---------------------------------------------------------------------------------


def test_xquad_real_has_twelve_languages_of_1190_questions(shared_data):
    src = open_source(f"xquad:{shared_data / 'xquad'}")
    rows = [r for b in src.batches() for r in b.to_pylist()]
    assert len(rows) == 1190
    assert src.langs == ("en", "ar", "de", "el", "es", "hi", "ro", "ru", "th", "tr", "vi", "zh")
    assert all(len(r["parallel"]) == 11 for r in rows)
    assert src.describe()["matched"] == {lang: 1190 for lang in src.langs[1:]}


def test_squad_v2_dev_joined_with_its_portuguese_translation(shared_data):
    """The English dev file's ids were rewritten (CS224n), the translation keeps SQuAD 2.0's:
    joined by position, every English question finds its translation and none disagrees on
    whether it is answerable."""
    spec = (f"parallel:en={shared_data / 'squad-v2' / 'dev-v2.0.json'}"
            f"+pt={shared_data / 'squad-v2-pt' / 'dev-v2.0.json'}")
    assert open_source(spec).describe()["matched"] == {"pt": 0}
    src = open_source(spec + "+join=position")
    rows = [r for b in src.batches() for r in b.to_pylist()]
    described = src.describe()
    assert described["ids"] == {"en": 6078, "pt": 11873}
    assert described["matched"] == {"pt": 6078} and described["not_in_source"] == {"pt": 5795}
    assert described["is_impossible_differs"] == {"pt": 0}
    assert src.stats.counts[f"skipped_{SKIP_NOT_IN_SOURCE}"] == 5795
    assert sum(1 for r in rows if r["parallel"]) == 6078


def hub_layout(root: Path, articles_by_lang: dict) -> str:
    """A dataset repository as the Hub holds google/xquad (one config ``xquad.LANG`` per
    language, split ``validation``, its columns id/context/question/answers), as a local
    folder ``owner/xq`` that ``datasets.load_dataset`` opens like a Hub id, offline."""
    repo = root / "owner" / "xq"
    repo.mkdir(parents=True)
    configs = []
    for lang, articles in articles_by_lang.items():
        rows = [{"id": qid, "title": title, "context": context, "question": question,
                 "answers": {"text": [t for t, _ in answers or []], "answer_start": [s for _, s in answers or []]}}
                for title, paragraphs in articles for context, qas in paragraphs for qid, question, answers in qas]
        (repo / f"{lang}.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                            encoding="utf-8")
        configs.append(f"- config_name: xquad.{lang}\n  data_files:\n  - split: validation\n    path: {lang}.jsonl\n")
    (repo / "README.md").write_text("---\nconfigs:\n" + "".join(configs) + "---\n", encoding="utf-8")
    return "owner/xq"


def test_a_hub_dataset_with_a_config_per_language_is_a_parallel_source(tmp_path, monkeypatch):
    pytest.importorskip("datasets")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # the revision lookup; datasets opens the local folder
    hub_id = hub_layout(tmp_path, {"en": EN, "de": DE})
    spec = f"parallel:en=hub:{hub_id}#xquad.en+de=hub:{hub_id}#xquad.de"
    src = open_source(spec, split="validation")
    assert src.langs == ("en", "de") and src.name == "xq" and src.split == "validation"
    rows = read_all(spec, split="validation").to_pylist()
    assert [r["id"] for r in rows] == ["xq:q1", "xq:q2", "xq:q3"]
    assert rows[0]["parallel"] == [{"lang": "de", "origin": "human", "title": "Paris", "question": "Wo liegt Paris?",
                                    "passage": "Paris liegt in Frankreich.",
                                    "answers": [{"text": "Frankreich", "answer_start": 15}]}]
    assert rows[1]["parallel"][0]["answers"] == [{"text": "Paris", "answer_start": 3}]  # as given, unchecked
    assert rows[0]["answers"] == [{"text": "France", "answer_start": 12}]
    described = src.describe()
    assert described["files"]["de"]["kind"] == "hub" and described["files"]["de"]["config"] == "xquad.de"
    assert described["not_in_source"] == {"de": 1}
    assert open_source(f"hub:{hub_id}#xquad.de", split="validation").dataset.config == "xquad.de"
    assert "bad Hub config '' in 'hub:owner/xq#'" in error_of(open_source, "hub:owner/xq#")
    assert "bad Hub dataset id 'xq' in 'en=hub:xq#xquad.en'" in error_of(open_source, "parallel:en=hub:xq#xquad.en+de=x.json")


def test_a_hub_members_looked_up_revision_is_not_part_of_the_identity(tmp_path, monkeypatch):
    """An unpinned Hub config's revision is looked up online: a resume offline must not differ."""
    pytest.importorskip("datasets")
    from mtqa.readers import ReaderStep

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    hub_id = hub_layout(tmp_path, {"en": EN, "de": DE})
    spec = f"parallel:en=hub:{hub_id}#xquad.en+de=hub:{hub_id}#xquad.de"
    online = ReaderStep([open_source(spec, split="validation")], 5)
    offline = ReaderStep([open_source(spec, split="validation")], 5)
    for member in online.sources[0].members.values():
        member._resolved = "0" * 40  # what the Hub answered on the first run
    assert online.describe() != offline.describe()  # the manifest records it
    assert online.identity() == offline.identity()

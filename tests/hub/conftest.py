"""Fixtures for the publish tests: real builds (the offline default, one with rejected rows,
one in flag mode), a parallel-source build of real XQuAD translations with an ``origin``
column, and a Hugging Face environment with no login, no token and no Hub."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pytest

from mtqa.config import BuildConfig, load_config, load_pipeline
from mtqa.pipeline.builder import run_build
from mtqa.pipeline.manifest import Manifest, ShardFile
from mtqa.pipeline.stats import StageStats
from mtqa.schema import passage_id, with_filter_columns
from mtqa.toy_cipher import cipher
from tests.helpers import FakeTranslateStep, steps_with
from tests.hub.fake_hub import FakeHub

TOKEN = "hf_mtqaTestTokenThatMustNeverBeWritten0123"


@pytest.fixture(autouse=True)
def no_hub_login(monkeypatch, tmp_path):
    """No token in the environment, no stored login, offline: each test opts into what it needs."""
    from huggingface_hub import constants

    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_OIDC_RESOURCE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "hf-home" / "token"))
    monkeypatch.setattr(constants, "HF_STORED_TOKENS_PATH", str(tmp_path / "hf-home" / "stored_tokens"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")


def _build(out: Path, **overrides) -> Path:
    run_build(load_config(BuildConfig, None, out=str(out), **overrides), progress=False)
    return out


@pytest.fixture(scope="session")
def default_build(tmp_path_factory) -> Path:
    """`mtqa build` with no options: 64 XQuAD questions, en + x-rot13 + x-atbash, toy model."""
    return _build(tmp_path_factory.mktemp("build") / "default")


def _emptying(every: int):
    """The toy cipher's translation, except an empty string for every ``every``-th text: rows
    with an emptied question fail ``empty``, rows whose answer sentence was emptied fail
    ``answer_lost``; the rest pass (the pseudo-languages are not language-identified)."""
    seen = Counter()

    def translate(text: str, lang: str) -> str:
        seen[lang] += 1
        return "" if seen[lang] % every == 0 else cipher(text, lang)

    return translate


@pytest.fixture(scope="session")
def rejected_build(tmp_path_factory) -> Path:
    """The default build with some texts emptied (filter mode ``drop``, chunks of 20): some rows
    are under ``OUT/rejected/`` and missing from ``OUT/data/``."""
    out = tmp_path_factory.mktemp("build") / "rejected"
    config = load_config(BuildConfig, None, out=str(out), chunk_size=20)
    translate = FakeTranslateStep(config.langs, fn=_emptying(7))
    run_build(config, progress=False, steps=steps_with(config, translate, filter_mode="drop"))
    return out


@pytest.fixture(scope="session")
def flag_build(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("build") / "flag"
    config = load_config(BuildConfig, None, out=str(out), langs=["x-rot13"])
    translate = FakeTranslateStep(config.langs, fn=_emptying(5))
    run_build(config, progress=False, steps=steps_with(config, translate, filter_mode="flag"))
    return out


@pytest.fixture(scope="session")
def xquad_mixed_build(tmp_path_factory, shared_data) -> Path:
    """A real parallel-source build: ``xquad:`` with its German and Spanish translations (origin
    ``human``) and x-rot13 machine-translated (a cipher translator), 60 questions. The filter's
    language ID is left out: slow, and not what publishing is about."""
    from tests.parallel.helpers import build

    xquad = shared_data / "xquad"
    if not (xquad / "xquad.de.json").is_file():
        pytest.skip(f"{xquad} not found")
    out = tmp_path_factory.mktemp("build") / "xquad-mixed"
    checks = ["empty", "too_short", "length_ratio", "repetition", "copy", "answer_lost"]
    config = load_pipeline(None, sources=[f"xquad:{xquad}"], out=str(out), langs=["de", "es", "x-rot13"], limit=60,
                           **{"filter.checks": checks})
    build(config, FakeTranslateStep(["x-rot13"], fn=cipher))
    return out


def _xquad_rows(xquad_dir: Path, lang: str, n_paragraphs: int) -> list[tuple[str, dict]]:
    data = json.loads((xquad_dir / f"xquad.{lang}.json").read_text(encoding="utf-8"))
    return [(a["title"], p) for a in data["data"] for p in a["paragraphs"]][:n_paragraphs]


@pytest.fixture(scope="session")
def parallel_build(tmp_path_factory, shared_data) -> Path:
    """A build of the shape issue 11 writes for ``xquad:DIR``: real XQuAD rows for en (origin
    ``source``), de and es (``human``, the professional translations), in the shard schema
    plus ``origin``, with a manifest of the executor's layout (filter counts per language)."""
    xquad = shared_data / "xquad"
    if not (xquad / "xquad.de.json").is_file():
        pytest.skip(f"{xquad} not found")
    langs = {"en": "source", "de": "human", "es": "human"}
    english = _xquad_rows(xquad, "en", 6)
    rows = []
    for lang, origin in langs.items():
        for (title, en), (_, para) in zip(english, _xquad_rows(xquad, lang, 6), strict=True):
            for qa in para["qas"]:
                rows.append({"id": f"xquad:{qa['id']}", "lang": lang, "source": "xquad", "split": "test",
                             "title": title, "question": qa["question"], "passage": para["context"],
                             "answers": [{"text": a["text"], "answer_start": int(a["answer_start"])}
                                         for a in qa["answers"]],
                             "is_impossible": False, "passage_id": passage_id("xquad", en["context"]),
                             "origin": origin})
    base = pa.Table.from_pylist([{k: v for k, v in r.items() if k != "origin"} for r in rows])
    table = with_filter_columns(base.append_column("keep", pa.array([True] * len(rows))))
    origin = pa.array([r["origin"] for r in rows], pa.string())
    if "origin" in table.column_names:  # SHARD_SCHEMA has it since issue 11
        table = table.set_column(table.column_names.index("origin"), "origin", origin)
    else:
        table = table.append_column(pa.field("origin", pa.string()), origin)
    out = tmp_path_factory.mktemp("build") / "xquad-parallel"
    (out / "data").mkdir(parents=True)
    path = out / "data" / "part-00000-of-00001-000000.arrow"
    with pa.OSFile(str(path), "wb") as f, pa.ipc.new_file(f, table.schema) as writer:
        writer.write_table(table)
    per_lang = Counter(r["lang"] for r in rows)
    filter_stats = StageStats("filter", Counter({"rows_in": len(rows), "rows_out": len(rows), "kept": len(rows)}),
                              0.01, {lang: Counter({"rows": n, "kept": n}) for lang, n in per_lang.items()})
    manifest = Manifest(
        mtqa_version="test", pipeline={"name": "xquad-parallel", "langs": ["de", "es"], "source_lang": "en",
                                       "filter": {"mode": "flag", "checks": ["empty"]}},
        identity_sha256="f" * 64,
        sources=[{"name": "xquad", "kind": "xquad", "path": str(xquad), "split": "test"}],
        model=None, stages={"filter": filter_stats}, langs=dict(per_lang), rows=len(rows),
        rejected={"rows": 0, "langs": {}},
        files=[ShardFile(str(path.relative_to(out)), len(rows), path.stat().st_size, "0" * 64, dict(per_lang))])
    (out / "manifest.json").write_text(json.dumps(manifest.to_dict()), encoding="utf-8")
    return out


def assert_token_nowhere(token: str, output: str, *folders: Path) -> None:
    assert token not in output
    raw = token.encode()
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file():
                assert raw not in path.read_bytes(), f"the token is in {path}"


@pytest.fixture
def online(monkeypatch):
    """huggingface_hub pointed at a fake Hub on 127.0.0.1, with the token in the environment."""
    from huggingface_hub import constants

    monkeypatch.setenv("HF_TOKEN", TOKEN)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)  # the single-commit path the fake Hub speaks
    with FakeHub(TOKEN, user="alice", orgs=("team",)) as hub:
        monkeypatch.setattr(constants, "ENDPOINT", hub.url)
        yield hub


def read_stage_files(stage: Path) -> dict[str, bytes]:
    return {p.relative_to(stage).as_posix(): p.read_bytes() for p in sorted(stage.rglob("*")) if p.is_file()}


EVAL_RECORD = Path(__file__).parent / "data" / "xquad-r-eval-tiny.json"


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory, default_build) -> Path:
    """`mtqa train` for 2 steps of a tiny encoder on the default build (checkpoint every step).
    Its record then gets an XQuAD-R result as `mtqa train --eval` records one: a real `mtqa
    eval` result of a tiny model on 2 paragraphs (tests/hub/data/xquad-r-eval-tiny.json),
    stored because evaluating here would triple the fixture's time."""
    for module in ("torch", "transformers", "sentence_transformers", "accelerate"):
        pytest.importorskip(module)
    from mtqa.eval.records import result_from_dict
    from mtqa.train import TrainConfig, train
    from tests.eval.tiny_models import build_tiny_sentence_transformer

    root = tmp_path_factory.mktemp("model")
    encoder = build_tiny_sentence_transformer(root / "encoder")
    out = root / "model"
    train(TrainConfig(data=[str(default_build)], model=str(encoder), out=str(out), max_steps=2, batch_size=8,
                      device="cpu", checkpoint_steps=1, progress=False, max_seq_length=128))
    record_path = out / "mtqa_train.json"
    record = json.loads(record_path.read_text(encoding="utf-8"))
    record["eval"] = [result_from_dict(json.loads(EVAL_RECORD.read_text(encoding="utf-8"))).to_dict()]
    record_path.write_text(json.dumps(record, indent=2), encoding="utf-8")
    return out

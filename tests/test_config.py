from pathlib import Path

import pytest
import yaml

from mtqa.config import BuildConfig, load_pipeline
from mtqa.errors import MtqaError

PIPELINES = Path(__file__).resolve().parent.parent / "pipelines"


def test_default_yaml_equals_the_built_in_defaults():
    assert load_pipeline("default").to_dict() == BuildConfig().to_dict()
    assert load_pipeline(str(PIPELINES / "default.yaml")).to_dict() == load_pipeline(None).to_dict()


def test_paper_pipeline_is_the_papers_languages_and_model():
    config = load_pipeline("paper")
    assert sorted(config.langs) == sorted(["ar", "zh", "de", "hi", "ru", "es", "th", "tr"])
    assert config.translate.model == "facebook/nllb-200-distilled-600M"


def test_overrides_replace_values_and_none_keeps_them():
    config = load_pipeline("default", langs=["de"], limit=None, **{"translate.beam_size": 5})
    assert config.langs == ["de"]
    assert config.limit is None
    assert config.translate.beam_size == 5
    assert config.translate.model == "toy"


def test_unknown_key_is_one_clear_line(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump({"langs": ["de"], "translate": {"beam": 3}}))
    with pytest.raises(MtqaError, match=r"p.yaml.translate: unknown key 'beam' \(known: .*beam_size"):
        load_pipeline(str(path))


def test_invalid_yaml_and_missing_files(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("langs: [de\n")
    with pytest.raises(MtqaError, match="not valid YAML"):
        load_pipeline(str(bad))
    with pytest.raises(MtqaError, match="pipeline file not found"):
        load_pipeline(str(tmp_path / "none.yaml"))
    with pytest.raises(MtqaError, match=r"unknown pipeline 'nope' \(known: default, paper\)"):
        load_pipeline("nope")


def test_invalid_partition_is_refused():
    with pytest.raises(MtqaError, match="shard index 3 is outside 0..2"):
        BuildConfig(num_shards=3, shard_index=3)


def test_identity_ignores_where_the_engine_runs():
    a = BuildConfig()
    b = load_pipeline(None, out="elsewhere", **{"translate.device": "cpu", "translate.inter_threads": 4})
    assert a.identity() == b.identity()
    c = load_pipeline(None, **{"translate.beam_size": 3})
    assert a.identity() != c.identity()


def test_placement_settings_are_not_identity():
    """Worker counts and devices may change between a run and its resume; content settings may not."""
    base = BuildConfig().identity()
    placed = load_pipeline(None, shard_index=0, **{"filter.lid.processes": 2, "filter.lid.min_parallel": 10,
                                                   "translate.cache_dir": "/elsewhere"})
    assert placed.identity() == base
    assert "processes" not in base["filter"]["lid"] and "device" not in base["translate"]
    assert load_pipeline(None, **{"filter.lid.backend": "langid"}).identity() != base


def test_train_recipes_are_not_build_pipelines():
    from mtqa.config import list_pipelines

    assert "default" in list_pipelines() and not any(n.startswith("train-") for n in list_pipelines())
    assert all(n.startswith("train-") for n in list_pipelines("train"))


def test_default_yaml_spells_out_every_setting():
    """default.yaml is the reference users copy: it names every field of the dataclasses."""
    data = yaml.safe_load((PIPELINES / "default.yaml").read_text())

    def keys(d, prefix=""):
        out = set()
        for k, v in d.items():
            out.add(prefix + k)
            if isinstance(v, dict):
                out |= keys(v, prefix + k + ".")
        return out

    assert keys(BuildConfig().to_dict()) == keys(data)

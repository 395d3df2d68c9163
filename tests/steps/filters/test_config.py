import dataclasses
import json

import pytest
import yaml

from mtqa.errors import MtqaError
from mtqa.steps.filters import CHECKS, REASONS, FilterConfig, FilterMode, QualityFilter, Reason


def test_bad_settings_are_one_clear_error(tmp_path):
    with pytest.raises(MtqaError, match="filter.mode must be one of drop, flag"):
        FilterConfig(mode="keep")
    with pytest.raises(MtqaError, match="unknown check 'spelling'"):
        FilterConfig(checks=["empty", "spelling"])
    with pytest.raises(MtqaError, match="filter.checks must be a list"):
        FilterConfig(checks="empty")
    with pytest.raises(MtqaError, match="length_ratio_default must be"):
        FilterConfig(length_ratio_default=[2.0, 1.0])
    (tmp_path / "r.json").write_text("{}")
    with pytest.raises(MtqaError, match="filter.length_ratios: cannot read"):
        QualityFilter(FilterConfig(length_ratios=str(tmp_path / "r.json")), ["de"])


def test_choices_are_enums_but_the_config_holds_plain_strings():
    assert [m.value for m in FilterMode] == ["drop", "flag"]  # what the CLI offers
    assert tuple(r.value for r in Reason) == REASONS
    assert set(CHECKS) == set(Reason)  # every reason has its check
    config = FilterConfig(mode=FilterMode.FLAG, checks=[Reason.COPY, "empty"])
    assert config.mode == "flag" and type(config.mode) is str
    assert config.checks == ["copy", "empty"] and all(type(c) is str for c in config.checks)
    data = dataclasses.asdict(FilterConfig())
    assert json.loads(json.dumps(data))["mode"] == "drop"
    assert yaml.safe_load(yaml.safe_dump(data)) == data  # safe_dump refuses enum members
    assert data["checks"] == list(REASONS)

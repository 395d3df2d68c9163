"""The real push, as far as this machine allows: up to huggingface_hub's offline error, and
through huggingface_hub's own HTTP code to a local stand-in for the Hub (tests/hub/fake_hub.py).
The token is set in the environment and must appear in no file written and no output line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from mtqa.cli import main
from tests.hub.conftest import TOKEN, assert_token_nowhere, read_stage_files


def run(build: Path, stage: Path, *args: str):
    return CliRunner().invoke(main, ["publish", str(build), "--stage", str(stage), *args])


def test_not_logged_in_is_one_line(default_build, tmp_path):
    result = run(default_build, tmp_path / "s", "--repo", "alice/x")
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "not logged in to the Hugging Face Hub" in result.output


def test_offline_is_one_line_and_the_token_is_nowhere(default_build, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    stage = tmp_path / "s"
    result = run(default_build, stage, "--repo", "alice/x")
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "offline mode is on" in result.output
    assert (stage / "README.md").is_file()  # staged up to the network
    assert_token_nowhere(TOKEN, result.output, stage, default_build)


def test_unreachable_hub_is_one_line(default_build, tmp_path, monkeypatch):
    import socket

    from huggingface_hub import constants

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: nothing listens there
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{port}")
    result = run(default_build, tmp_path / "s", "--repo", "alice/x")
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "cannot reach the Hub" in result.output
    assert TOKEN not in result.output


def test_push_uploads_exactly_the_stage(default_build, tmp_path, online):
    stage = tmp_path / "s"
    result = CliRunner().invoke(main, ["-vv", "publish", str(default_build), "--stage", str(stage),
                                       "--repo", "alice/mtqa-default", "--private"])
    assert result.exit_code == 0, result.output
    assert "created dataset repo alice/mtqa-default (private)" in result.output  # the debug log is in the output
    repo = online.repo("alice/mtqa-default")
    assert repo.private
    assert repo.files == read_stage_files(stage)
    assert f"uploaded to {online.url}/datasets/alice/mtqa-default as alice" in result.output
    # The token went in the Authorization header and nowhere else.
    assert all(r.headers.get("authorization") == f"Bearer {TOKEN}" for r in online.requests
               if r.path.startswith(("/api/whoami", "/api/repos", "/api/datasets")))
    assert not any(TOKEN.encode() in r.body for r in online.requests)
    assert_token_nowhere(TOKEN, result.output, stage, default_build)
    # Publishing again with other file boundaries replaces the stale Parquet files.
    result = CliRunner().invoke(main, ["publish", str(default_build), "--stage", str(stage), "--repo",
                                       "alice/mtqa-default"])
    assert result.exit_code == 0, result.output
    assert repo.files == read_stage_files(stage)


def test_someone_elses_repo_is_refused_unless_a_pull_request(default_build, tmp_path, online):
    online.add_repo("bob/data")
    result = run(default_build, tmp_path / "s", "--repo", "bob/data")
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert "exists and belongs to bob, not to you (alice)" in result.output
    assert not online.repo("bob/data").commits
    result = run(default_build, tmp_path / "s", "--repo", "bob/data", "--create-pr")
    assert result.exit_code == 0, result.output
    (commit,) = online.repo("bob/data").commits
    assert commit["create_pr"] and not online.repo("bob/data").files
    assert f"pull request: {online.url}/datasets/bob/data/discussions/1" in result.output


def test_an_organisation_of_the_user_is_the_users(default_build, tmp_path, online):
    result = run(default_build, tmp_path / "s", "--repo", "team/data", "--revision", "v1")
    assert result.exit_code == 0, result.output
    repo = online.repo("team/data")
    assert "v1" in repo.branches and repo.commits[-1]["revision"] == "v1"


@pytest.mark.parametrize("setup, args, message", [
    (None, ["--repo", "carol/new"], "cannot create carol/new: carol is neither your account (alice)"),
    ("public", ["--repo", "alice/pub", "--private"], "exists and is public"),
    ("badtoken", ["--repo", "alice/x"], "the Hub rejected the token (401 Unauthorized)"),
])
def test_hub_refusals_are_one_line(default_build, tmp_path, online, monkeypatch, setup, args, message):
    if setup == "public":
        online.add_repo("alice/pub")
    if setup == "badtoken":
        monkeypatch.setenv("HF_TOKEN", "hf_someOtherToken")
    result = run(default_build, tmp_path / "s", *args)
    assert result.exit_code == 2 and result.output.count("\n") == 1 and message in result.output
    assert TOKEN not in result.output


def test_dry_run_never_calls_the_hub(default_build, tmp_path, online):
    result = run(default_build, tmp_path / "s", "--repo", "alice/x", "--dry-run")
    assert result.exit_code == 0, result.output
    assert online.requests == []
    shutil.rmtree(tmp_path / "s")


def test_a_card_the_hub_refuses_is_one_line(default_build, tmp_path, online):
    online.yaml_errors = ["\"license\" must be one of [apache-2.0, mit, ...]"]
    result = run(default_build, tmp_path / "s", "--repo", "alice/x")
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert "the Hub refused the upload to alice/x: Invalid metadata in README.md.; \"license\" must be" in result.output
    assert not online.repo("alice/x").commits

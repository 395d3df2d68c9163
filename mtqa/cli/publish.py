"""``mtqa publish``: a build as a Hub dataset, or a trained model as a Hub model."""

from __future__ import annotations

import click

from mtqa.cli.common import user_errors


@click.command("publish")
@click.argument("folder", type=click.Path(file_okay=False, path_type=str))
@click.option("--repo", required=True, metavar="ORG/NAME", help="The Hub repo to publish to.")
@click.option("--dry-run", is_flag=True,
              help="Write the folder that would be uploaded and print the plan; upload nothing.")
@click.option("--private", is_flag=True, help="Create the repo private (an existing public repo is refused).")
@click.option("--revision", metavar="BRANCH", default=None,
              help="Upload to this branch (created from the default branch when missing), or refs/pr/N.")
@click.option("--create-pr", is_flag=True, help="Open a pull request instead of committing to the branch.")
@click.option("--include-rejected", is_flag=True,
              help="Builds: also publish the rows the filter failed, as the 'rejected' config.")
@click.option("--source-license", "source_licenses", multiple=True, metavar="NAME=LICENSE",
              help="Builds: the Hub licence id of a source mtqa does not know (repeatable).")
@click.option("--dataset-repo", "dataset_repos", multiple=True, metavar="ORG/NAME",
              help="Models: the Hub dataset of each training build, in the order of `mtqa train --data` (repeatable).")
@click.option("--stage", metavar="DIR", default=None,
              help="Where to write the folder to upload (default: FOLDER/hub).")
@click.option("--message", "commit_message", default=None, help="The commit message.")
@user_errors
def publish(folder: str, repo: str, dry_run: bool, private: bool, revision: str | None, create_pr: bool,
            include_rejected: bool, source_licenses: tuple[str, ...], dataset_repos: tuple[str, ...],
            stage: str | None, commit_message: str | None) -> None:
    """Publish FOLDER on the Hugging Face Hub: a build folder (`mtqa build --out`) as a dataset
    with one Parquet config per language, a `parallel` config and a provenance card; a model
    folder (`mtqa train --out`) as a model with its training provenance.

    \b
    Examples:
      mtqa publish out/default --repo me/mtqa-default --dry-run
      mtqa publish out/squad-v2 --repo me/squad-v2-mt --private
      mtqa publish out/model --repo me/me5-hybrid --dataset-repo me/squad-v2-mt

    The token comes from HF_TOKEN or `hf auth login`, never from the command line.
    """
    from mtqa.hub.config import PublishConfig, parse_source_licenses
    from mtqa.hub.publish import publish as run_publish

    config = PublishConfig(folder=folder, repo=repo, dry_run=dry_run, private=private, revision=revision,
                           create_pr=create_pr, include_rejected=include_rejected,
                           source_licenses=parse_source_licenses(source_licenses),
                           dataset_repos=list(dataset_repos), commit_message=commit_message, stage=stage)
    plan = run_publish(config)
    click.echo("\n".join(plan.lines()))

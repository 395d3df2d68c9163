"""The ``mtqa`` command: one small module per subcommand, each parsing its options, loading a
typed config and calling one library function. No logic lives here."""

from __future__ import annotations

import click

from mtqa.cli.build import build
from mtqa.cli.common import setup_logging
from mtqa.cli.eval import eval_
from mtqa.cli.report import report
from mtqa.cli.sources import sources


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mtqa")
@click.option("-v", "--verbose", count=True, help="Log what mtqa does to stderr (-v: info, -vv: debug).")
def main(verbose: int) -> None:
    """mtqa: parallel multilingual QA data from English QA datasets, for hybrid batch training."""
    setup_logging(verbose)


for command in (build, sources, eval_, report):
    main.add_command(command)

# Commands whose modules may not exist yet in a partial checkout are registered if present;
# each imports its heavy dependencies (torch, huggingface_hub) only when it runs.
for module, name in (("mtqa.cli.train", "train"), ("mtqa.cli.publish", "publish")):
    try:
        main.add_command(getattr(__import__(module, fromlist=[name]), name))
    except ModuleNotFoundError as e:
        if e.name != module:
            raise

__all__ = ["main"]

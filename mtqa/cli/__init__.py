"""The ``mtqa`` command: one small module per subcommand, each parsing its options, loading a
typed config and calling one library function. No logic lives here."""

from __future__ import annotations

import click

from mtqa.cli.build import build
from mtqa.cli.common import setup_logging
from mtqa.cli.eval import eval_
from mtqa.cli.merge import merge
from mtqa.cli.publish import publish
from mtqa.cli.report import report
from mtqa.cli.sources import sources
from mtqa.cli.train import train


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mtqa")
@click.option("-v", "--verbose", count=True, help="Log what mtqa does to stderr (-v: info, -vv: debug).")
def main(verbose: int) -> None:
    """mtqa: parallel multilingual QA data from English QA datasets, for hybrid batch training."""
    setup_logging(verbose)


# Each command imports its heavy dependencies (torch, huggingface_hub, ray) only when it runs.
for command in (build, sources, report, eval_, train, publish, merge):
    main.add_command(command)

__all__ = ["main"]

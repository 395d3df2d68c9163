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

try:  # `mtqa train` needs the train extra only when it runs; its module imports cheaply
    from mtqa.cli.train import train
except ImportError:  # pragma: no cover - the module ships with the package
    train = None
if train is not None:
    main.add_command(train)

__all__ = ["main"]

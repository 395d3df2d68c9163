"""``mtqa report OUT_DIR``: the quality filter's per-language table for a build."""

from __future__ import annotations

import click

from mtqa.cli.common import user_errors


@click.command()
@click.argument("out_dir", metavar="OUT_DIR", type=click.Path(file_okay=False))
@user_errors
def report(out_dir) -> None:
    """The quality filter's per-language table for a build; writes OUT_DIR/report/filter.md and filter.png.

    \b
    Example:
      mtqa report out/default
    """
    from mtqa.report import write_report

    table, paths = write_report(out_dir)
    click.echo(table)
    click.echo("\nwrote " + " and ".join(str(p) for p in paths))

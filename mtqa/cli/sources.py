"""``mtqa sources``: the registered QA sources and the file patterns a build reads."""

from __future__ import annotations

import click

from mtqa.cli.common import user_errors


@click.command()
@user_errors
def sources() -> None:
    """List the registered QA sources."""
    from mtqa.readers import list_sources

    for entry in list_sources():
        click.echo(f"{entry['name']:<18} {entry.get('hub_id') or '':<42} {entry.get('description', '')}")

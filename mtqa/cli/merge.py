"""``mtqa merge OUT``: one manifest from the partitions of a build that ran as separate tasks."""

from __future__ import annotations

from pathlib import Path

import click

from mtqa.cli.common import user_errors


@click.command()
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--num-shards", type=click.IntRange(min=1),
              help="The build's partition count (default: the one its partition manifests name).")
@click.option("--if-complete", is_flag=True,
              help="Exit 0 without merging while partitions are missing (what each Slurm array task runs last).")
@user_errors
def merge(out, num_shards, if_complete) -> None:
    """Merge OUT/manifests/shard-*.json into OUT/manifest.json.

    \b
    Examples:
      mtqa merge out/paper                  # after every task of a Slurm array has finished
      mtqa merge out/paper --if-complete    # merge if all partitions are done, else say which are not

    Partitions still missing are named (exit 2); partitions of different pipelines, or a
    manifest naming a data file that is gone, are refused. The merged manifest records each
    partition's rows and seconds and the straggler ratio (slowest / median).
    """
    from mtqa.scale.merge import merge_build, missing_partitions, partition_manifests

    manifest = merge_build(out, num_shards, if_complete=if_complete)
    if manifest is None:
        counts = partition_manifests(out)
        n = num_shards or (max(counts) if counts else 0)
        missing = missing_partitions(Path(out), n) if n else []
        click.echo(f"{out}: {n - len(missing)} of {n} partitions done; not merged yet")
        return
    click.echo(f"merged {len(manifest.partitions or [])} partitions into {out}/manifest.json: {manifest.rows:,} rows")
    if manifest.balance is not None:
        b = manifest.balance
        ratio = f"{b.straggler_ratio:.2f}" if b.straggler_ratio is not None else "n/a"
        click.echo(f"rows per partition {b.rows['min']:,}–{b.rows['max']:,} (median {b.rows['median']:,g}); "
                   f"straggler ratio {ratio} (slowest: partition {b.slowest}, {b.seconds['max']:.1f} s of steps)")


if __name__ == "__main__":  # `python -m mtqa.cli.merge OUT`, as the Slurm array's script runs it
    merge()

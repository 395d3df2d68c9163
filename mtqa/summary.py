"""What ``mtqa build`` prints at the end: the stage table from a build manifest
(:func:`format_summary`), then what this run did and where the output is (:func:`format_outcome`).

A resumed or already finished build says so, with how much was done before: the stage table
adds up every run's counts and seconds, so without that line an old build's timings would
read like a fresh one's. One partition of several says which partitions are still missing
instead of pointing at a ``manifest.json`` that does not exist yet.
"""

from __future__ import annotations

from mtqa.pipeline import stats as S
from mtqa.pipeline.manifest import Manifest
from mtqa.readers.normalize import ROWS_REPAIRED, SKIP_DUPLICATE_ID, skipped_key
from mtqa.steps.segment import LONG_TEXT_CHARS, MAX_SEGMENT_CHARS


def _pct(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "-"


def format_summary(manifest: Manifest) -> str:
    count = manifest.count
    lines = [f"{'stage':<10} {'seconds':>9}  what it did"]

    def line(stage: str, text: str) -> None:
        lines.append(f"{stage:<10} {manifest.stage(stage).seconds:>9.2f}  {text}")

    dropped, repaired = count("source", skipped_key(SKIP_DUPLICATE_ID)), count("source", ROWS_REPAIRED)
    if dropped or repaired:
        line("source", f"{count('source', S.ROWS_OUT):,} QA rows; {dropped:,} exact duplicate(s) dropped, "
             f"{repaired:,} row(s) with lone surrogates repaired to U+FFFD")
    long_passages, cut = count("segment", S.LONG_PASSAGES), count("segment", S.CUT_SEGMENTS)
    line("segment", f"{count('segment', S.ROWS_IN):,} QA rows -> {count('segment', S.SEGMENTS):,} segments "
         f"({count('segment', S.SEGMENTS_PASSAGE):,} passage, {count('segment', S.SEGMENTS_QUESTION):,} question, "
         f"{count('segment', S.SEGMENTS_ANSWER):,} answer)"
         + (f"; {long_passages:,} passage(s) over {LONG_TEXT_CHARS:,} characters" if long_passages else "")
         + (f"; {cut:,} segment(s) cut at {MAX_SEGMENT_CHARS:,} characters" if cut else ""))
    if "mark" in manifest.stages:
        unmarked = count("mark", S.ANSWERS_UNMARKED)
        line("mark", f"{count('mark', S.SEGMENTS_MARKED):,} answer sentence(s) marked, to translate once more"
             + (f"; {unmarked:,} answer(s) not inside one sentence or without a free marker" if unmarked else ""))
    naive, unique = count("dedup", S.SEGMENTS), count("dedup", S.UNIQUE_SEGMENTS)
    pn, pu = count("dedup", S.SEGMENTS_PASSAGE), count("dedup", S.UNIQUE_PASSAGE)
    line("dedup", f"{unique:,} unique of {naive:,} segments ({_pct(unique, naive)}); passages {pu:,} of {pn:,} ({_pct(pu, pn)})")
    hits, done = count("translate", S.CACHE_HITS), count("translate", S.TRANSLATED)
    line("translate", f"{done:,} translated, {hits:,} from cache; {count('translate', S.SOURCE_TOKENS):,} -> "
         f"{count('translate', S.TARGET_TOKENS):,} tokens")
    projected = manifest.projection_counts()
    methods = {m: sum(p.by_method()[m] for p in projected) for m in ("marker", "exact", "fuzzy", "none")}
    line("assemble", f"{count('assemble', S.ROWS_OUT):,} rows (one per id and language)"
         + ("; MT answers by projection: " + ", ".join(f"{v:,} {m}" for m, v in methods.items())
            if projected else ""))
    failed = manifest.filter_failures()
    judged = count("filter", S.ROWS_IN)
    line("filter", f"{count('filter', S.KEPT):,} of {judged:,} rows kept ({_pct(count('filter', S.KEPT), judged)}); "
         f"failed: " + (", ".join(f"{k} {v:,}" for k, v in sorted(failed.items())) or "none")
         + (f"; {manifest.rejected['rows']:,} under rejected/" if manifest.rejected.get("rows") else ""))
    line("write", f"{count('write', S.ROWS_OUT):,} rows in {len(manifest.files)} shard file(s), "
         f"{count('write', S.BYTES_WRITTEN) / 1e6:.2f} MB")
    lines.append("")
    lines.append(f"{'language':<10} {'rows':>9}")
    for lang, rows in manifest.langs.items():
        lines.append(f"{lang:<10} {rows:>9,}")
    return "\n".join(lines)


def _partitions(indices: list[int]) -> str:
    shown = ", ".join(str(i) for i in indices[:10])
    return shown + (f" and {len(indices) - 10} more" if len(indices) > 10 else "")


def format_outcome(manifest: Manifest, out: str) -> str:
    """The lines after the table: what this run built or found done, and the output's state.

    Needs a manifest returned by the executor (``manifest.this_run`` set); a manifest read
    from disk gives only the output line.
    """
    run = manifest.this_run
    lines = []
    if run is not None:
        partition = f"partition {run.shard_index} of {run.num_shards}" if run.num_shards > 1 else "the build"
        if run.chunks_built == 0 and run.chunks_done_before:
            lines.append(f"already finished: {partition}'s {run.chunks_done_before:,} chunk(s) "
                         f"({run.rows_done_before:,} QA rows) were built by earlier runs; nothing was rebuilt. "
                         "The seconds above are those earlier runs'.")
        elif run.chunks_done_before:
            lines.append(f"resumed: {run.chunks_done_before:,} of {run.chunks:,} chunks "
                         f"({run.rows_done_before:,} of {run.rows_done_before + run.rows_built:,} QA rows) "
                         f"were done by earlier runs; this run built {run.chunks_built:,} chunk(s) "
                         f"({run.rows_built:,} QA rows) in {run.seconds:,.1f} s. "
                         "The seconds above add up every run.")
        else:
            lines.append(f"built {run.chunks_built:,} chunk(s) ({run.rows_built:,} QA rows) in {run.seconds:,.1f} s.")
        if run.redone:
            lines.append(f"rebuilt {len(run.redone)} damaged chunk(s): " + "; ".join(run.redone[:3])
                         + (" ..." if len(run.redone) > 3 else ""))
        if run.missing_partitions:
            lines.append(f"wrote {out}/ ({manifest.rows:,} rows of {partition}); still missing: "
                         f"partition {_partitions(run.missing_partitions)} of {run.num_shards}. "
                         f"{out}/manifest.json is written when the last partition finishes.")
            return "\n".join(lines)
    lines.append(f"wrote {out}/ ({manifest.rows:,} rows); manifest: {out}/manifest.json")
    return "\n".join(lines)

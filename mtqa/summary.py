"""The table ``mtqa build`` prints at the end, from a build manifest."""

from __future__ import annotations

from mtqa.pipeline import stats as S
from mtqa.pipeline.manifest import Manifest


def _pct(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "-"


def format_summary(manifest: Manifest) -> str:
    count = manifest.count
    lines = [f"{'stage':<10} {'seconds':>9}  what it did"]

    def line(stage: str, text: str) -> None:
        lines.append(f"{stage:<10} {manifest.stage(stage).seconds:>9.2f}  {text}")

    line("segment", f"{count('segment', S.ROWS_IN):,} QA rows -> {count('segment', S.SEGMENTS):,} segments "
         f"({count('segment', S.SEGMENTS_PASSAGE):,} passage, {count('segment', S.SEGMENTS_QUESTION):,} question, "
         f"{count('segment', S.SEGMENTS_ANSWER):,} answer)")
    naive, unique = count("dedup", S.SEGMENTS), count("dedup", S.UNIQUE_SEGMENTS)
    pn, pu = count("dedup", S.SEGMENTS_PASSAGE), count("dedup", S.UNIQUE_PASSAGE)
    line("dedup", f"{unique:,} unique of {naive:,} segments ({_pct(unique, naive)}); passages {pu:,} of {pn:,} ({_pct(pu, pn)})")
    hits, done = count("translate", S.CACHE_HITS), count("translate", S.TRANSLATED)
    line("translate", f"{done:,} translated, {hits:,} from cache; {count('translate', S.SOURCE_TOKENS):,} -> "
         f"{count('translate', S.TARGET_TOKENS):,} tokens")
    line("assemble", f"{count('assemble', S.ROWS_OUT):,} rows (one per id and language)")
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

"""Spec parsing: known names, bad arguments, the source list, and the docs' examples."""

from __future__ import annotations

from pathlib import Path

from mtqa.readers import list_sources, open_source
from tests.readers.helpers import error_of


def test_unknown_source_lists_the_known_ones():
    message = error_of(open_source, "squad3")
    assert message.startswith("unknown source 'squad3': expected one of sample, squad, squad_v2, nq,")
    assert "yahoo_qa" in message and "jsonl:" in message


def test_bad_arguments():
    assert "limit must be" in error_of(open_source, "sample", limit=-1)
    assert "batch_size must be" in error_of(open_source, "sample", batch_size=0)
    assert "empty source spec" in error_of(open_source, " ")
    assert "may only hold" in error_of(open_source, "sample", name="a:b")
    assert error_of(open_source, "entity_questions").startswith("entity_questions: EntityQuestions: no Hub version")


def test_list_sources_covers_the_registry():
    entries = {e["name"]: e for e in list_sources()}
    assert {"sample", "squad", "squad_v2", "nq", "trivia_qa", "ms_marco", "wiki_qa", "duorc",
            "duorc_paraphrase", "newsqa", "yahoo_qa", "entity_questions", "jsonl:"} <= set(entries)
    assert entries["squad_v2"]["hub_id"] == "rajpurkar/squad_v2" and entries["squad_v2"]["verified"]
    assert entries["entity_questions"]["kind"] == "unavailable" and not entries["yahoo_qa"]["verified"]
    assert all(e["description"] for e in entries.values())


def test_docs_examples_run_and_print_what_they_say(capsys):
    import re

    text = (Path(__file__).resolve().parents[2] / "docs" / "source.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) == 3
    for block in blocks:
        expected = []
        for line in block.splitlines():
            if "print(" in line and "#" in line:
                expected.append(line.split("# ", 1)[1].strip())
            elif line.startswith("# "):
                expected.append(re.sub(r"\s{2,}\(.*\)$", "", line[2:]).strip())
        exec(compile(block, "docs/source.md", "exec"), {})
        assert capsys.readouterr().out.splitlines() == expected

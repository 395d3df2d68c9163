"""SQuAD JSON is streamed (ijson) with the rows, order and one-line errors of a whole parse."""

import gzip
import json

import pytest

from mtqa.errors import MtqaError
from mtqa.readers import files, open_source
from tests.readers.helpers import error_of


def doc(articles):
    return {"version": "v2.0", "data": articles}


def article(title, contexts):
    return {"title": title, "paragraphs": [
        {"context": c, "qas": [{"id": f"{title}-{i}-{j}", "question": f"Q{j} on {c[:8]}?",
                                "answers": [{"text": c[:4], "answer_start": 0}], "is_impossible": False}
                               for j in range(2)]}
        for i, c in enumerate(contexts)]}


def rows(path):
    source = open_source(str(path))
    return [row for batch in source.batches() for row in batch.to_pylist()]


def whole_parse_rows(path, monkeypatch):
    """The rows as the reader gave them when it parsed the document whole (json.loads)."""
    import ijson

    class WholeDocument:
        JSONError = ijson.JSONError
        parse = staticmethod(ijson.parse)  # the layout check before the articles

        @staticmethod
        def items(f, prefix, use_float=True):
            assert prefix == "data.item"
            yield from json.loads(f.read().decode("utf-8").removeprefix("\ufeff"))["data"]

    with monkeypatch.context() as m:
        m.setitem(__import__("sys").modules, "ijson", WholeDocument)
        return rows(path)


def test_rows_and_order_equal_a_whole_parse(tmp_path, monkeypatch, shared_data):
    path = shared_data / "squad-v2" / "dev-v2.0.json"
    streamed = rows(path)
    assert len(streamed) == 6078
    assert streamed == whole_parse_rows(path, monkeypatch)


def test_bom_gzip_unicode_and_surrogate_pairs(tmp_path):
    # json.dumps escapes non-ASCII: the emoji becomes a surrogate pair, read by the Python parser.
    data = doc([article("Café", ["Ünïcode text here.", "Emoji \U0001f600 here."]), article("B", ["Plain."])])
    plain = tmp_path / "a.json"
    plain.write_bytes(b"\xef\xbb\xbf" + json.dumps(data).encode())
    packed = tmp_path / "a.json.gz"
    packed.write_bytes(gzip.compress(json.dumps(data, ensure_ascii=False).encode()))
    got, got_gz = rows(plain), rows(packed)
    assert [r["passage"] for r in got] == ["Ünïcode text here."] * 2 + ["Emoji \U0001f600 here."] * 2 + ["Plain."] * 2
    assert [r["id"] for r in got] == [r["id"] for r in got_gz] and [r["passage"] for r in got_gz] == [
        r["passage"] for r in got]


def test_a_lone_surrogate_late_in_the_file_switches_parsers_without_losing_rows(tmp_path):
    articles = [article(f"A{i}", [f"Passage number {i} " * 40]) for i in range(300)]
    articles[250]["paragraphs"][0]["context"] += " \ud83d"
    path = tmp_path / "big.json"
    path.write_text(json.dumps(doc(articles)))  # ~ 300 kB: the escape is read in a later block
    got = rows(path)
    assert len(got) == 600
    assert [r["title"] for r in got[::2]] == [f"A{i}" for i in range(300)]
    assert got[500]["passage"].endswith(" \ufffd")  # repaired by the reader, as before


@pytest.mark.parametrize("text, message", [
    ('{"data": 5}', "not SQuAD format"),
    ("[1, 2]", "not SQuAD format"),
    ('{"version": "x"}', "not SQuAD format"),
    ("", "malformed JSON"),
    ('{"data": {"item": {"title": "T", "paragraphs": []}}}', "not SQuAD format"),  # "data.item" of an object
])
def test_not_squad_layouts(tmp_path, text, message):
    path = tmp_path / "x.json"
    path.write_text(text)
    assert message in error_of(open_source, str(path))


def test_numbers_past_64_bits_read_as_json_reads_them(tmp_path):
    """ijson's C parser overflows where json does not: the Python parser reads on."""
    plain, big = tmp_path / "plain.json", tmp_path / "big.json"
    plain.write_text(json.dumps(doc([article("T", ["Alpha beta gamma.", "Delta epsilon."])])), encoding="utf-8")
    big.write_text(plain.read_text(encoding="utf-8")[:-1] + ', "x": 123456789012345678901234567890123}',
                   encoding="utf-8")
    assert [r["question"] for r in rows(big)] == [r["question"] for r in rows(plain)] and len(rows(plain)) == 4


def test_empty_data_list_is_an_empty_source(tmp_path):
    path = tmp_path / "empty.json"
    path.write_text('{"data": []}')
    assert rows(path) == []


def test_errors_after_the_first_articles_keep_their_position(tmp_path):
    good = json.dumps(article("A", ["Fine passage."]))
    path = tmp_path / "late.json"
    path.write_text('{"data": [\n' + good + ',\n  {"title": "x",,}\n]}\n')
    assert error_of(open_source, str(path)).startswith(f"malformed JSON in {path} at line 3, column 17:")
    path.write_bytes(b'{"data": [\n' + good.encode() + b',\n{"title": "caf\xe9", "paragraphs": []}]}')
    offset = path.read_bytes().index(b"\xe9")
    assert error_of(open_source, str(path)) == f"invalid UTF-8 in {path} at byte offset {offset} (line 3)"


def test_files_over_the_diagnosis_limit_name_a_byte_offset(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "DIAGNOSE_MAX_BYTES", 10)
    path = tmp_path / "bad.json"
    path.write_text('{"data": [{"title": "x",,}]}')
    assert error_of(open_source, str(path)).startswith(f"malformed JSON in {path} before byte offset ")
    path.write_bytes(b'{"data": [\n{"title": "caf\xe9"}]}')
    assert error_of(open_source, str(path)) == f"invalid UTF-8 in {path} at byte offset 25 (line 2)"


def test_a_cut_gzip_file_is_one_line(tmp_path):
    path = tmp_path / "cut.json.gz"
    path.write_bytes(gzip.compress(json.dumps(doc([article("A", ["P."] * 50)])).encode())[:-20])
    with pytest.raises(MtqaError, match=f"cannot read {path}"):
        rows(path)

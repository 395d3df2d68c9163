import pickle
import sqlite3
import subprocess
import sys

from mtqa.translation.cache import (
    CACHE_FILE,
    TranslationCache,
    translation_key,
    translation_namespace,
)

SETTINGS = {"beam_size": 2, "compute_type": "int8"}


def key(text: str, **change) -> bytes:
    parts = {"fingerprint": "f" * 64, "settings": SETTINGS, "source_lang": "en", "target_lang": "de", **change}
    return translation_key(translation_namespace(**parts), text)


def test_round_trip_and_missing_keys(tmp_path):
    cache = TranslationCache(tmp_path)
    cache.put_many([(key("a"), "A"), (key("b"), "B")])
    assert cache.get_many([key("a"), key("b"), key("c")]) == {key("a"): "A", key("b"): "B"}
    assert cache.get_many([]) == {}
    assert (tmp_path / CACHE_FILE).is_file()


def test_first_translation_of_a_key_stays(tmp_path):
    cache = TranslationCache(tmp_path)
    cache.put_many([(key("a"), "first")])
    cache.put_many([(key("a"), "second")])
    assert cache.get_many([key("a")]) == {key("a"): "first"}
    assert len(cache) == 1


def test_many_keys_in_one_call(tmp_path):
    cache = TranslationCache(tmp_path)
    items = [(key(str(i)), f"t{i}") for i in range(2345)]
    cache.put_many(items)
    found = cache.get_many([k for k, _ in items] + [key("absent")])
    assert found == dict(items)


def test_shared_by_other_instances_and_processes(tmp_path):
    TranslationCache(tmp_path).put_many([(key("a"), "A")])
    assert TranslationCache(tmp_path).get_many([key("a")]) == {key("a"): "A"}
    code = (
        "import sys; from mtqa.translation.cache import TranslationCache; "
        f"print(TranslationCache(sys.argv[1]).get_many([{key('a')!r}]))"
    )
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == repr({key("a"): "A"})


def test_every_part_of_the_key_counts():
    base = key("text")
    variants = [
        key("text "),
        key("text", fingerprint="e" * 64),
        key("text", settings={**SETTINGS, "beam_size": 4}),
        key("text", source_lang="de", target_lang="en"),
        key("text", target_lang="fr"),
    ]
    assert len({base, *variants}) == 6
    assert key("text") == base
    assert len(base) == 32
    assert translation_namespace("f", {"b": 1, "a": 2}, "en", "de") == translation_namespace(
        "f", {"a": 2, "b": 1}, "en", "de"
    )


def test_wal_mode(tmp_path):
    cache = TranslationCache(tmp_path)
    assert cache.conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_pickles_without_its_connection(tmp_path):
    cache = TranslationCache(tmp_path)
    cache.put_many([(key("a"), "A")])
    clone = pickle.loads(pickle.dumps(cache))
    assert clone._conn is None
    assert clone.get_many([key("a")]) == {key("a"): "A"}


WRITER = """
import sys
from mtqa.translation.cache import TranslationCache
cache = TranslationCache(sys.argv[1])
for batch in range(100000):
    cache.put_many([(f"{batch}:{i}".encode(), "x" * 200) for i in range(200)])
    print(batch, flush=True)
"""


def test_committed_translations_survive_kill_9(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    committed = -1
    while committed < 30:
        committed = int(proc.stdout.readline())
    proc.kill()  # SIGKILL, mid-transaction more often than not
    proc.wait()
    proc.stdout.close()
    conn = sqlite3.connect(tmp_path / CACHE_FILE)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()
    cache = TranslationCache(tmp_path)
    rows = len(cache)
    assert rows % 200 == 0  # whole transactions only
    assert rows >= (committed + 1) * 200
    wanted = [f"{b}:{i}".encode() for b in range(committed + 1) for i in range(200)]
    assert len(cache.get_many(wanted)) == len(wanted)
    cache.put_many([(b"after", "kill")])  # and it is writable again
    assert cache.get_many([b"after"]) == {b"after": "kill"}

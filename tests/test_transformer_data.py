"""Seq2seq data: generated tasks, JSONL pairs, special tokens, batching and the metrics."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from pydantic import ValidationError

from workbench.data import SEQ2SEQ, Seq2SeqPairs
from workbench.protocols import Seq2SeqTokenIds
from workbench.registry import load_registry
from workbench.specs import DatasetContext
from workbench_text.tokenizers import BPEConfig, BPETokenizer, CharConfig, CharTokenizer
from workbench_transformer.batching import EncodedPair, TokenBatches, collate, token_batches
from workbench_transformer.jsonl_pairs import JsonlPairsConfig, load_jsonl_pairs, read_pairs
from workbench_transformer.metrics import corpus_bleu, exact_match
from workbench_transformer.tasks import (
    AdditionConfig,
    SymbolTaskConfig,
    make_addition,
    make_symbol_task,
)
from workbench_transformer.translation import (
    ADJECTIVES,
    NOUNS,
    ToyTranslationConfig,
    _noun_phrase,
    _vorrish_np,
    make_toy_translation,
    translate,
)

SPECIALS = ["<pad>", "<bos>", "<eos>"]


def ctx(seed: int = 0, tmp: Path = Path(".")) -> DatasetContext:
    return DatasetContext(cache_dir=tmp, seed=seed)


GENERATED = {
    "copy": lambda seed: make_symbol_task("copy", SymbolTaskConfig(train_size=300), ctx(seed)),
    "reverse": lambda seed: make_symbol_task(
        "reverse", SymbolTaskConfig(train_size=300, min_length=3), ctx(seed)
    ),
    "sort": lambda seed: make_symbol_task("sort", SymbolTaskConfig(train_size=300), ctx(seed)),
    "addition": lambda seed: make_addition(AdditionConfig(train_size=300), ctx(seed)),
    "toy-translation": lambda seed: make_toy_translation(
        ToyTranslationConfig(train_size=300), ctx(seed)
    ),
}


@pytest.mark.parametrize("name", GENERATED)
def test_generated_datasets_are_deterministic_for_a_seed(name):
    make = GENERATED[name]
    first, again, other = make(3), make(3), make(4)
    assert isinstance(first, Seq2SeqPairs) and first.kind == SEQ2SEQ
    assert (first.train, first.val, first.test) == (again.train, again.val, again.test)
    assert first.train != other.train
    assert (len(first.train), len(first.val), len(first.test)) == (300, 500, 500)
    held_out = [source for source, _ in first.val + first.test]
    assert len(set(held_out)) == len(held_out)
    assert not set(held_out) & {source for source, _ in first.train}
    assert len(first.texts()) == 2 * (300 + 500 + 500)


def test_dataset_seed_option_overrides_the_run_seed():
    config = SymbolTaskConfig(train_size=50, val_size=5, test_size=5, seed=11)
    assert (
        make_symbol_task("copy", config, ctx(1)).train
        == make_symbol_task("copy", config, ctx(2)).train
    )


def test_symbol_tasks_do_what_they_say():
    config = SymbolTaskConfig(train_size=100, min_length=2, max_length=12, num_symbols=20)
    for task, rule in (
        ("copy", lambda s: s),
        ("reverse", lambda s: s[::-1]),
        ("sort", lambda s: "".join(sorted(s))),  # 0-9 then a-j sorts like the alphabet
    ):
        data = make_symbol_task(task, config, ctx())
        for source, target in data.train + data.val:
            assert target == rule(source)
            assert 2 <= len(source) <= 12 and set(source) <= set("0123456789abcdefghij")


def test_addition_adds():
    data = make_addition(AdditionConfig(train_size=200, max_digits=4), ctx())
    lengths = set()
    for source, target in data.train:
        a, b = source.split("+")
        assert int(target) == int(a) + int(b)
        lengths.add(len(a))
    assert lengths == {1, 2, 3, 4}


def test_too_small_a_task_is_reported():
    with pytest.raises(ValueError, match="could not draw 500 distinct val examples"):
        make_symbol_task("copy", SymbolTaskConfig(min_length=2, max_length=2, num_symbols=3), ctx())


def test_task_options_are_checked():
    with pytest.raises(ValidationError, match="must not exceed max_length"):
        SymbolTaskConfig(min_length=5, max_length=3)
    with pytest.raises(ValidationError, match="extra"):
        AdditionConfig(digits=3)


def test_toy_translation_reorders_and_agrees():
    subject = {"det": "ta", "adj": "bris", "noun": "bolt", "plural": True}
    obj = {"det": "en", "adj": "dolm", "noun": "drin", "plural": False}
    sentence = {"subject": subject, "object": obj, "aux": "das", "verb": "abra", "adverb": "sonn"}
    assert translate(sentence) == (
        "ta bris bolts das abra en dolm drin sonn",
        "ekra sarman kelan las kolvo taro mok dunetin",
    )
    phrase = {"prep": "ov", "np": {"det": "ta", "adj": None, "noun": "fesk", "plural": False}}
    source, target = translate({**sentence, "phrase": phrase, "negated": True, "adverb": None})
    assert source == "ta bris bolts nok das abra en dolm drin ov ta fesk"
    assert target == "sarman kelan las mulna la ken kolvo taro mok nadunetin"


def test_toy_translation_noun_phrases_agree_in_gender_and_number():
    rng = random.Random(0)
    config = ToyTranslationConfig(adjective_rate=1.0)
    for _ in range(200):
        np = _noun_phrase(rng, config)
        noun, adjective, determiner = _vorrish_np(np, object_case=True)
        gender = NOUNS[np["noun"]][1]
        number = "n" if np["plural"] else ""
        assert noun == NOUNS[np["noun"]][0] + gender + number
        assert adjective == ADJECTIVES[np["adj"]] + gender + number
        assert determiner[1] == gender and determiner.endswith("k")
        assert ("s" in determiner) == np["plural"]


def write_jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_jsonl_pairs_load_and_split(tmp_path):
    lines = [json.dumps({"source": f"s{i}", "target": f"t{i}", "id": i}) for i in range(20)]
    path = write_jsonl(tmp_path / "pairs.jsonl", [*lines[:10], "", *lines[10:]])
    config = JsonlPairsConfig(path=str(path), val_fraction=0.2, test_fraction=0.1, seed=1)
    data = load_jsonl_pairs(config, ctx())
    assert (len(data.train), len(data.val), len(data.test)) == (14, 4, 2)
    assert sorted(data.train + data.val + data.test) == sorted(
        (f"s{i}", f"t{i}") for i in range(20)
    )
    assert load_jsonl_pairs(config, ctx()).train == data.train
    val = write_jsonl(tmp_path / "val.jsonl", [json.dumps({"source": "v", "target": "w"})])
    data = load_jsonl_pairs(
        JsonlPairsConfig(path=str(path), val_path=str(val), shuffle=False), ctx()
    )
    assert data.val == [("v", "w")] and len(data.train) == 20 and data.train[0] == ("s0", "t0")


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ('{"source": "a", "target": ', ":3: invalid JSON"),
        ('["a", "b"]', ":3: expected a JSON object, got list"),
        ('{"source": "a"}', ":3: missing 'target'"),
        ('{"source": "a", "target": 5}', ":3: 'source' and 'target' must be strings"),
    ],
)
def test_bad_jsonl_line_is_reported_with_its_line_number(tmp_path, bad_line, message):
    good = json.dumps({"source": "a", "target": "b"})
    path = write_jsonl(tmp_path / "pairs.jsonl", [good, good, bad_line, good])
    with pytest.raises(ValueError, match=message) as info:
        read_pairs(path)
    assert str(path) in str(info.value)


def test_jsonl_pairs_config_needs_validation_data(tmp_path):
    with pytest.raises(ValidationError, match="val_path or a val_fraction"):
        JsonlPairsConfig(path="x.jsonl", val_fraction=0.0)
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_jsonl_pairs(JsonlPairsConfig(path=str(tmp_path / "missing.jsonl")), ctx())


def test_datasets_are_registered_with_the_seq2seq_kind():
    registry = load_registry()
    for name in ("copy", "reverse", "sort", "addition", "toy-translation", "jsonl-pairs"):
        assert registry.dataset(name).dataset_kind == SEQ2SEQ
    assert registry.compatible_datasets("seq2seq") == sorted(
        ["addition", "copy", "jsonl-pairs", "reverse", "sort", "toy-translation"]
    )
    assert registry.compatible_architectures("seq2seq") == ["transformer"]


# -- special tokens ----------------------------------------------------------------------------


def test_char_special_tokens_take_the_first_ids(tmp_path):
    tokenizer = CharTokenizer(CharConfig(special_tokens=SPECIALS))
    tokenizer.fit(["abc", "cab"])
    assert tokenizer.vocab_size == 6
    assert [tokenizer.token_id(t) for t in SPECIALS] == [0, 1, 2]
    assert tokenizer.token_id("a") == 3
    assert tokenizer.encode("cab") == [5, 3, 4]
    assert tokenizer.decode([1, 5, 3, 2]) == "<bos>ca<eos>"
    assert tokenizer.encode("<eos>"[:0]) == []
    tokenizer.save(tmp_path)
    restored = CharTokenizer()
    restored.load(tmp_path)
    assert restored.special_tokens == SPECIALS and restored.encode("cab") == [5, 3, 4]
    with pytest.raises(
        ValueError, match=r"no token '<unk>' \(special tokens: <pad>, <bos>, <eos>\)"
    ):
        tokenizer.token_id("<unk>")


def test_char_without_special_tokens_is_unchanged(tmp_path):
    tokenizer = CharTokenizer()
    tokenizer.fit(["abc"])
    assert tokenizer.encode("abc") == [0, 1, 2]
    tokenizer.save(tmp_path)
    assert "special_tokens" not in json.loads((tmp_path / "tokenizer.json").read_text())
    with pytest.raises(ValidationError, match="distinct"):
        CharConfig(special_tokens=["<a>", "<a>"])


def test_seq2seq_token_ids_name_what_is_missing():
    char = CharTokenizer(CharConfig(special_tokens=SPECIALS))
    char.fit(["xyz"])
    assert Seq2SeqTokenIds.from_tokenizer(char) == Seq2SeqTokenIds(pad=0, bos=1, eos=2)
    bpe = BPETokenizer(BPEConfig(vocab_size=300, special_tokens=SPECIALS))
    bpe.fit(["hello world"] * 5)
    assert Seq2SeqTokenIds.from_tokenizer(bpe) == Seq2SeqTokenIds(pad=0, bos=1, eos=2)
    assert bpe.token_id("<eos>") == 2
    plain = CharTokenizer()
    plain.fit(["xyz"])
    with pytest.raises(ValueError, match=r"no '<pad>' token; seq2seq needs the special tokens"):
        Seq2SeqTokenIds.from_tokenizer(plain)
    default_bpe = BPETokenizer(BPEConfig(vocab_size=300))
    default_bpe.fit(["hello world"] * 5)
    with pytest.raises(ValueError, match="no '<pad>' token"):
        Seq2SeqTokenIds.from_tokenizer(default_bpe)


# -- batching ----------------------------------------------------------------------------------


def test_token_batches_respect_the_budget_and_cover_every_example():
    rng = random.Random(0)
    lengths = [rng.randint(1, 30) for _ in range(500)]
    for shuffle in (None, random.Random(1)):
        batches = token_batches(lengths, 120, shuffle)
        assert sorted(i for b in batches for i in b) == list(range(500))
        for batch in batches:
            assert len(batch) * max(lengths[i] for i in batch) <= 120
    assert token_batches(lengths, 120) == token_batches(lengths, 120)
    assert token_batches(lengths, 120, random.Random(1)) == token_batches(
        lengths, 120, random.Random(1)
    )
    with pytest.raises(ValueError, match="more than max_tokens"):
        token_batches([5, 50], 40)


def test_collate_pads_and_shifts_the_target():
    ids = Seq2SeqTokenIds(pad=0, bos=1, eos=2)
    src, tgt_in, tgt_out = collate([EncodedPair([5, 6, 2], [7]), EncodedPair([5, 2], [8, 9])], ids)
    assert src.tolist() == [[5, 6, 2], [5, 2, 0]]
    assert tgt_in.tolist() == [[1, 7, 0], [1, 8, 9]]
    assert tgt_out.tolist() == [[7, 2, 0], [8, 9, 2]]


def test_training_batches_repeat_exactly_for_the_same_seed():
    ids = Seq2SeqTokenIds(pad=0, bos=1, eos=2)
    rng = random.Random(3)
    pairs = [
        EncodedPair(
            [rng.randint(3, 9) for _ in range(rng.randint(1, 8))] + [2], [4] * rng.randint(1, 8)
        )
        for _ in range(100)
    ]

    def first(seed: int, n: int = 30):
        it = iter(TokenBatches(pairs, ids, 64, seed))
        return [next(it)[0].tolist() for _ in range(n)]  # crosses into the next epoch

    assert first(5) == first(5)
    assert first(5) != first(6)


# -- metrics -----------------------------------------------------------------------------------


def test_bleu_of_identical_output_is_100():
    refs = ["ekra sarman kelan las kolvo taro mok dunetin", "jaston mos falda baha lak tametin"]
    assert corpus_bleu(refs, refs) == pytest.approx(100.0)
    assert corpus_bleu(["0123456789", "12"], ["0123456789", "12"], "char") == pytest.approx(100.0)
    assert corpus_bleu(["ab", "cd"], ["ab", "cd"], "char") == pytest.approx(100.0)
    assert corpus_bleu(["x y z w", "q"], refs) < 5
    partly = corpus_bleu(["ekra sarman kelan las kolvo taro mok dunetin", "jaston"], refs)
    assert 0 < partly < 100


def test_exact_match_and_mismatched_lengths():
    assert exact_match(["a", "b", "c", "d"], ["a", "x", "c", "y"]) == 0.5
    with pytest.raises(ValueError, match="must pair up"):
        exact_match(["a"], ["a", "b"])
    with pytest.raises(ValueError, match="no examples"):
        corpus_bleu([], [])

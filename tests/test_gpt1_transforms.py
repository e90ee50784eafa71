"""GPT-1's input transformations, batching and head: exact token sequences, truncation, the
similarity symmetry, multiple-choice shapes, and the jsonl-task dataset's errors."""

from __future__ import annotations

import json

import pytest
import torch

from workbench.specs import DatasetContext
from workbench_gpt.model import GPT, GPTConfig
from workbench_gpt1.batching import collate, encode_records, final_states
from workbench_gpt1.config import FinetuneConfig
from workbench_gpt1.head import TaskHead
from workbench_gpt1.jsonl_task import JsonlTaskConfig, load_jsonl_task
from workbench_gpt1.scoring import task_forward
from workbench_gpt1.transforms import (
    SPECIAL_TOKENS,
    TaskTokens,
    TextMarkers,
    lm_targets,
    record_sequences,
    split_budget,
)
from workbench_text.tokenizers import CharConfig, CharTokenizer

torch.set_num_threads(1)

ALPHABET = "abcdefghijklmnopqrstuvwxyz .?\n"


def char_tokenizer(specials: bool = True) -> CharTokenizer:
    tokenizer = CharTokenizer(CharConfig(special_tokens=list(SPECIAL_TOKENS) if specials else []))
    tokenizer.fit([ALPHABET])
    return tokenizer


@pytest.fixture(scope="module")
def tok() -> CharTokenizer:
    return char_tokenizer()


@pytest.fixture(scope="module")
def tokens(tok) -> TaskTokens:
    return TaskTokens.from_tokenizer(tok)


def ids(tok: CharTokenizer, text: str) -> list[int]:
    return tok.encode(text)


def seq(tok, record, task_type, block_size=64):
    return record_sequences(
        record, task_type, tok.encode, TaskTokens.from_tokenizer(tok), block_size
    )


def test_special_tokens_are_used_when_the_tokenizer_has_them(tok, tokens):
    assert (tokens.start, tokens.delim, tokens.extract) == ((0,), (1,), (2,))
    assert tokens.special == (True, True, True)
    assert tokens.describe() == "<start>=special <delim>=special <extract>=special"


def test_classification_and_entailment_sequences_are_exact(tok):
    S, D, E = 0, 1, 2
    [row] = seq(tok, {"text": "it was good.", "label": 1}, "classification")
    assert row == [S, *ids(tok, "it was good."), E]
    assert tok.decode(row) == "<start>it was good.<extract>"
    [row] = seq(tok, {"premise": "a is b.", "hypothesis": "b is a.", "label": 0}, "entailment")
    assert row == [S, *ids(tok, "a is b."), D, *ids(tok, "b is a."), E]


def test_similarity_gives_both_orders_and_multiple_choice_one_row_per_choice(tok):
    S, D, E = 0, 1, 2
    rows = seq(tok, {"text_a": "ab", "text_b": "cd", "label": 1}, "similarity")
    assert rows == [
        [S, *ids(tok, "ab"), D, *ids(tok, "cd"), E],
        [S, *ids(tok, "cd"), D, *ids(tok, "ab"), E],
    ]
    record = {"context": "who? ", "choices": ["x", "yz", "w"], "label": 2}
    rows = seq(tok, record, "multiple_choice")
    assert [tok.decode(r) for r in rows] == [
        "<start>who? <delim>x<extract>",
        "<start>who? <delim>yz<extract>",
        "<start>who? <delim>w<extract>",
    ]


def test_text_markers_stand_in_when_the_tokenizer_has_no_special_tokens():
    tok = char_tokenizer(specials=False)
    tokens = TaskTokens.from_tokenizer(tok)
    assert tokens.special == (False, False, False)
    [row] = record_sequences(
        {"premise": "p.", "hypothesis": "h.", "label": 0}, "entailment", tok.encode, tokens, 32
    )
    assert tok.decode(row) == "\n\np.\nh.\n"
    custom = TaskTokens.from_tokenizer(tok, TextMarkers(start=".", delim=" ? ", extract="?"))
    [row] = record_sequences({"text": "ok", "label": 0}, "classification", tok.encode, custom, 32)
    assert tok.decode(row) == ".ok?"
    # use_special=False ignores special tokens even where the tokenizer has them
    plain = TaskTokens.from_tokenizer(char_tokenizer(), use_special=False)
    assert plain.special == (False, False, False)


def test_unknown_character_error_names_it_and_the_field(tok):
    with pytest.raises(ValueError, match=r"field 'hypothesis'.*unknown character 'é'"):
        seq(tok, {"premise": "ok.", "hypothesis": "café.", "label": 0}, "entailment")
    with pytest.raises(ValueError, match=r"<delim> stand-in text.*unknown character '\$'"):
        TaskTokens.from_tokenizer(char_tokenizer(False), TextMarkers(delim=" $ "))
    with pytest.raises(ValueError, match=r"train record 1: field 'text'.*'!'"):
        encode_records(
            [{"text": "fine", "label": 0}, {"text": "bad!", "label": 1}],
            "classification",
            tok.encode,
            TaskTokens.from_tokenizer(tok),
            32,
        )


def test_truncation_cuts_the_first_segment_from_the_left(tok):
    premise = "abcdefghijklmnopqrstuvwxyz"
    [row] = seq(tok, {"premise": premise, "hypothesis": "hyp.", "label": 0}, "entailment", 16)
    assert len(row) == 16
    # 16 - 3 markers - 4 hypothesis = 9 premise characters, the last ones
    assert tok.decode(row) == "<start>rstuvwxyz<delim>hyp.<extract>"
    [row] = seq(tok, {"text": premise, "label": 0}, "classification", 8)
    assert tok.decode(row) == "<start>uvwxyz<extract>"
    record = {"context": premise, "choices": ["one", "three"], "label": 0}
    rows = seq(tok, record, "multiple_choice", 12)
    assert [tok.decode(r) for r in rows] == [
        "<start>uvwxyz<delim>one<extract>",
        "<start>wxyz<delim>three<extract>",
    ]


def test_similarity_truncation_is_the_same_for_both_orders(tok):
    for la, lb, room in [(10, 3, 8), (3, 10, 8), (9, 9, 8), (20, 12, 13), (2, 2, 8)]:
        ka, kb = split_budget(la, lb, room)
        assert split_budget(lb, la, room) == (kb, ka)
        assert ka + kb <= room and ka <= la and kb <= lb
    rows = seq(tok, {"text_a": "abcdefghij", "text_b": "xyz", "label": 0}, "similarity", 11)
    assert [tok.decode(r) for r in rows] == [
        "<start>fghij<delim>xyz<extract>",
        "<start>xyz<delim>fghij<extract>",
    ]
    assert all(len(r) == 11 for r in rows)


def test_lm_targets_and_collate_shapes(tok, tokens):
    assert lm_targets([5, 6, 7]) == [6, 7, -1]
    records = encode_records(
        [
            {"context": "q", "choices": ["a", "bb", "c"], "label": 1},
            {"context": "qq", "choices": ["d", "e"], "label": 0},
        ],
        "multiple_choice",
        tok.encode,
        tokens,
        32,
    )
    batch = collate(records)
    assert batch.ids.shape == (5, 6)  # <start> qq <delim> d <extract> is the longest row
    assert batch.group.tolist() == [[0, 1, 2], [3, 4, -1]]
    assert batch.labels.tolist() == [1, 0]
    assert batch.last.tolist() == [4, 5, 4, 5, 5]
    assert batch.targets[1].tolist() == [*batch.ids[1, 1:6].tolist(), -1]
    assert batch.targets[0, 4:].tolist() == [-1, -1]  # end and padding are ignored
    hidden = torch.arange(5 * 6 * 2, dtype=torch.float).view(5, 6, 2)
    assert torch.equal(final_states(hidden, batch.last)[1], hidden[1, 5])


def tiny_gpt(vocab_size: int) -> GPT:
    torch.manual_seed(0)
    config = GPTConfig(n_layer=2, n_head=2, n_embd=16, block_size=32, dropout=0.0)
    return GPT(config, vocab_size=vocab_size).eval()


def test_multiple_choice_scores_one_logit_per_choice_and_masks_missing_ones(tok, tokens):
    model = tiny_gpt(tok.vocab_size)
    head = TaskHead(model.hidden_size, "multiple_choice", n_labels=3).eval()
    assert head.linear.out_features == 1
    records = encode_records(
        [
            {"context": "q", "choices": ["a", "b", "c"], "label": 1},
            {"context": "q", "choices": ["a", "b"], "label": 0},
        ],
        "multiple_choice",
        tok.encode,
        tokens,
        32,
    )
    logits, aux = task_forward(model, head, collate(records), with_lm=True)
    assert logits.shape == (2, 3)
    assert torch.isinf(logits[1, 2]) and torch.isfinite(logits[0]).all()
    # the same choices score the same in both records
    assert torch.allclose(logits[0, :2], logits[1, :2], atol=1e-5)
    probs = logits.softmax(-1)
    assert torch.allclose(probs.sum(-1), torch.ones(2)) and probs[1, 2] == 0
    assert aux is not None and aux.item() > 0


def test_similarity_is_order_symmetric(tok, tokens):
    model = tiny_gpt(tok.vocab_size)
    head = TaskHead(model.hidden_size, "similarity", n_labels=2).eval()
    torch.nn.init.normal_(head.linear.weight)
    records = encode_records(
        [
            {"text_a": "the cat sat.", "text_b": "a dog ran away.", "label": 0},
            {"text_a": "a dog ran away.", "text_b": "the cat sat.", "label": 0},
        ],
        "similarity",
        tok.encode,
        tokens,
        32,
    )
    logits, _ = task_forward(model, head, collate(records), with_lm=False)
    assert logits.shape == (2, 2)
    assert torch.allclose(logits[0], logits[1], atol=1e-5)
    # entailment is not symmetric: the order of premise and hypothesis matters
    head = TaskHead(model.hidden_size, "entailment", n_labels=3).eval()
    torch.nn.init.normal_(head.linear.weight)
    records = encode_records(
        [
            {"premise": "the cat sat.", "hypothesis": "a dog ran away.", "label": 0},
            {"premise": "a dog ran away.", "hypothesis": "the cat sat.", "label": 0},
        ],
        "entailment",
        tok.encode,
        tokens,
        32,
    )
    logits, _ = task_forward(model, head, collate(records), with_lm=False)
    assert not torch.allclose(logits[0], logits[1], atol=1e-3)


def test_padding_does_not_change_a_record_s_logits(tok, tokens):
    model = tiny_gpt(tok.vocab_size)
    head = TaskHead(model.hidden_size, "classification", n_labels=2).eval()
    short = {"text": "ok", "label": 0}
    long = {"text": "a much longer text.", "label": 1}
    alone = collate(encode_records([short], "classification", tok.encode, tokens, 32))
    padded = collate(encode_records([short, long], "classification", tok.encode, tokens, 32))
    a, _ = task_forward(model, head, alone, with_lm=False)
    b, _ = task_forward(model, head, padded, with_lm=False)
    assert torch.allclose(a[0], b[0], atol=1e-5)


def test_stage_options_of_another_stage_are_filtered():
    cfg = FinetuneConfig.from_run_stage({"name": "finetune", "lm_coef": 0.0, "delim_text": " "})
    assert cfg.lm_coef == 0.0 and cfg.markers().delim == " "
    cfg = FinetuneConfig.from_run_stage({"name": "other", "unknown_option": 3})
    assert cfg == FinetuneConfig()


def write_lines(path, rows) -> str:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return str(path)


def test_jsonl_task_reads_labels_by_name_or_index_and_holds_out_val(tmp_path):
    rows = [{"text": f"text {i}", "label": ["neg", "pos"][i % 2]} for i in range(20)]
    rows[3] = {"text": "three", "label": 0}
    train = write_lines(tmp_path / "train.jsonl", rows)
    config = JsonlTaskConfig(train=train, labels=["neg", "pos"], val_fraction=0.25)
    task = load_jsonl_task(config, DatasetContext(cache_dir=tmp_path, seed=1))
    assert (len(task.train), len(task.val), task.task_type) == (15, 5, "classification")
    assert {r["label"] for r in task.train + task.val} == {0, 1}
    again = load_jsonl_task(config, DatasetContext(cache_dir=tmp_path, seed=1))
    assert again.val == task.val
    mc = write_lines(
        tmp_path / "mc.jsonl",
        [{"context": "c", "choices": ["a", "b", "c"], "label": 2}] * 4,
    )
    task = load_jsonl_task(
        JsonlTaskConfig(train=mc, val=mc, task_type="multiple_choice"),
        DatasetContext(cache_dir=tmp_path, seed=0),
    )
    assert task.labels == ["choice 0", "choice 1", "choice 2"] and len(task.val) == 4


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"premise": "p"', "bad.jsonl:2: invalid JSON"),
        ('{"premise": "p", "label": "entailment"}', "bad.jsonl:2: missing field 'hypothesis'"),
        ('{"premise": "p", "hypothesis": 3, "label": 0}', "bad.jsonl:2: field 'hypothesis' must"),
        ('{"premise": "p", "hypothesis": "h", "label": "yes"}', "bad.jsonl:2: field 'label' is"),
        ('{"premise": "p", "hypothesis": "h", "label": 7}', "bad.jsonl:2: field 'label' must"),
        ('{"premise": "p", "hypothesis": "h"}', "bad.jsonl:2: missing field 'label'"),
    ],
)
def test_jsonl_task_errors_name_file_line_and_field(tmp_path, line, message):
    good = '{"premise": "p", "hypothesis": "h", "label": "neutral"}'
    path = write_lines(tmp_path / "bad.jsonl", [good, line])
    config = JsonlTaskConfig(
        train=path, val=path, task_type="entailment", labels=["entailment", "neutral"]
    )
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        load_jsonl_task(config, DatasetContext(cache_dir=tmp_path, seed=0))


def test_jsonl_task_config_needs_labels_for_classification():
    with pytest.raises(ValueError, match="at least 2 labels"):
        JsonlTaskConfig(train="x.jsonl", labels=["only"])

"""Skip-gram with negative sampling: the loss, the data, that training pulls co-occurring words
together, the ``word2vec`` stage through the CLI, a child run reading the vectors, and the
``word-similarity`` evaluation."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
import yaml

from workbench.cli import main
from workbench.paths import resolve_home
from workbench.specs import RunInfo, StageContext
from workbench.store import open_store
from workbench_gpt.model import GPT, GPTConfig
from workbench_transfer.neighbours import nearest_neighbours
from workbench_transfer.similarity import word_similarity
from workbench_transfer.skipgram import (
    ContextVectors,
    SkipGramBatches,
    noise_distribution,
    sgns_loss,
    subsample,
    token_counts,
)
from workbench_transfer.tokenizer import WordTokenizer
from workbench_transfer.word2vec import Word2VecConfig, build_word2vec


@pytest.fixture(autouse=True)
def one_thread(monkeypatch):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # for the worker processes, too
    yield
    torch.set_num_threads(threads)


def test_sgns_loss_matches_the_formula():
    center = torch.tensor([[1.0, 0.0]])
    context = torch.tensor([[2.0, 0.0]])
    negatives = torch.tensor([[[1.0, 0.0], [0.0, 3.0]]])
    expected = -(math.log(1 / (1 + math.exp(-2))) + math.log(1 / (1 + math.exp(1))) + math.log(0.5))
    assert sgns_loss(center, context, negatives).item() == pytest.approx(expected, rel=1e-6)


def test_noise_and_subsampling_follow_word2vec():
    counts = torch.tensor([0.0, 1.0, 16.0])
    noise = noise_distribution(counts)
    assert noise[0] == 0 and noise[2] / noise[1] == pytest.approx(16**0.75)
    ids = torch.tensor([1] * 10 + [2] * 10_000)
    kept = subsample(ids, token_counts(ids, 3), 1e-3, torch.Generator().manual_seed(0))
    assert (kept == 1).sum() == 10  # a rare word is always kept
    assert (kept == 2).sum() < 1_000  # a word making up 99.9% of the text mostly goes


def test_pairs_stay_within_the_window_and_are_deterministic():
    ids = torch.arange(100)
    noise = noise_distribution(torch.ones(100))
    batches = SkipGramBatches(ids, noise, window=3, negatives=4, batch_size=64, seed=5)
    centers, contexts, negatives = next(iter(batches))
    distance = (centers - contexts).abs()
    assert ((distance >= 1) & (distance <= 3)).all()
    assert negatives.shape == (64, 4)
    again = next(iter(SkipGramBatches(ids, noise, 3, 4, 64, seed=5)))
    assert torch.equal(again[0], centers) and torch.equal(again[2], negatives)
    # Two processes of a batch-32 run see the global batch of one batch-64 process.
    halves = [next(iter(SkipGramBatches(ids, noise, 3, 4, 32, 5, rank, 2))) for rank in (0, 1)]
    assert torch.equal(torch.cat([h[0] for h in halves]), centers)


def topic_stream(n_words: int = 20_000, seed: int = 0) -> tuple[torch.Tensor, list[list[int]]]:
    """Sentences of 6 words drawn from one of four topics of 8 words each."""
    rng = random.Random(seed)
    topics = [list(range(t * 8, t * 8 + 8)) for t in range(4)]
    ids: list[int] = []
    while len(ids) < n_words:
        ids.extend(rng.choices(rng.choice(topics), k=6))
    return torch.tensor(ids), topics


def test_training_lowers_the_loss_and_pulls_co_occurring_words_together():
    torch.manual_seed(0)
    ids, topics = topic_stream()
    noise = noise_distribution(token_counts(ids, 32))
    stream = iter(SkipGramBatches(ids, noise, window=2, negatives=5, batch_size=256, seed=0))
    vectors = torch.nn.Embedding(32, 16)
    torch.nn.init.uniform_(vectors.weight, -0.5 / 16, 0.5 / 16)
    head = ContextVectors(32, 16)
    optimizer = torch.optim.Adam([vectors.weight, *head.parameters()], lr=0.02)
    losses = []
    for _ in range(300):
        centers, contexts, negatives = next(stream)
        loss = head(vectors(centers), contexts, negatives)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert sum(losses[-20:]) / 20 < 0.8 * sum(losses[:20]) / 20
    unit = F.normalize(vectors.weight.detach(), dim=-1)
    similarity = unit @ unit.T
    topic_of = torch.tensor([t for t, words in enumerate(topics) for _ in words])
    same = topic_of[:, None] == topic_of[None, :]
    off_diagonal = ~torch.eye(32, dtype=torch.bool)
    within = similarity[same & off_diagonal].mean()
    across = similarity[~same].mean()
    assert within > across + 0.3


def test_word_similarity_and_neighbours_on_known_vectors():
    tokenizer = WordTokenizer()
    tokenizer.fit(["hot cold cat dog bread soup"])
    vectors = torch.zeros(tokenizer.vocab_size, 3)
    ids = {w: tokenizer.token_id(w) for w in ("hot", "cold", "cat", "dog", "bread", "soup")}
    vectors[ids["hot"]] = torch.tensor([1.0, 0.0, 0.0])
    vectors[ids["cold"]] = torch.tensor([0.9, 0.1, 0.0])
    vectors[ids["cat"]] = torch.tensor([0.0, 1.0, 0.0])
    vectors[ids["dog"]] = torch.tensor([0.1, 1.0, 0.0])
    vectors[ids["bread"]] = torch.tensor([0.0, 0.0, 1.0])
    vectors[ids["soup"]] = torch.tensor([0.0, 0.1, 1.0])
    groups = {"pets": ["cat", "dog", "unseen"], "foods": ["bread", "soup"]}
    result = word_similarity(vectors, tokenizer, groups, [("hot", "cold")], k=1, random_pairs=200)
    assert result["antonym_cosine"] > 0.99 and result["category_cosine"] > 0.99
    assert result["random_cosine"] < 0.5
    assert result["category_precision"] == 1.0 and result["words_scored"] == 6
    assert nearest_neighbours(vectors, tokenizer, "cat", 1)[0][0] == "dog"


def test_stage_refuses_a_model_without_an_embedding_table(tmp_path):
    model = GPT(GPTConfig(n_layer=1, n_head=1, n_embd=4, block_size=4), vocab_size=5)
    ctx = StageContext(
        config=Word2VecConfig(),
        run=RunInfo(id=1, name="x", seed=0, run_dir=tmp_path, home=tmp_path),
        model=model,
        tokenizer=WordTokenizer(),
        dataset=None,
    )
    with pytest.raises(ValueError, match="no input embedding table named 'embedding'"):
        build_word2vec(ctx)


def write(tmp_path: Path, name: str, config: dict) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


SYNTHETIC = {"size_chars": 20_000, "task_train_size": 40, "task_eval_size": 10, "seed": 3}


def test_word2vec_stage_then_a_finetune_child_reads_the_frozen_vectors(home, tmp_path, capsys):
    architecture = {"name": "word-vector-lstm", "preset": "wv-nano"}
    trainer = {"accelerator": "cpu", "devices": 1, "log_every_n_steps": 1}
    parent = {
        "name": "vectors",
        "seed": 0,
        "stage": {
            "name": "word2vec",
            "max_steps": 60,
            "batch_size": 128,
            "window": 2,
            "eval_interval": 30,
            "eval_batches": 2,
            "probe_words": ["the", "nonsense-word"],
        },
        "architecture": architecture,
        "tokenizer": {"name": "word"},
        "dataset": {"name": "synthetic", **SYNTHETIC},
        "trainer": trainer,
    }
    assert main(["run", str(write(tmp_path, "vectors", parent))]) == 0
    store = open_store(resolve_home(home))
    assert store.get_run(1).status == "succeeded"
    losses = [m.value for m in store.metrics(1, "train/loss")]
    assert losses[-1] < losses[0]
    samples = store.samples(1)
    assert samples and samples[-1].text.startswith("the: ")  # unknown probe words are skipped
    parent_dir = resolve_home(home).run_dir(1)
    vectors = torch.load(parent_dir / "model.pt", weights_only=True)
    heads = torch.load(parent_dir / "heads.pt", weights_only=True)
    assert heads["context"]["vectors.weight"].abs().sum() > 0

    # The child: the same corpus's labelled task; the runner loads the parent's weights by name
    # and finetune trains the LSTM and the head over the frozen vectors.
    child = {
        "name": "classifier",
        "seed": 0,
        "stage": {"name": "finetune", "max_steps": 4, "batch_size": 8, "lm_coef": 0.0,
                  "eval_interval": 4},
        "architecture": {**architecture, "freeze_embeddings": True},
        "tokenizer": {"name": "word"},
        "dataset": {"name": "synthetic-task", "task": "sentiment", **SYNTHETIC},
        "trainer": trainer,
        "init_from": "vectors",
    }  # fmt: skip
    assert main(["run", str(write(tmp_path, "child", child))]) == 0
    assert store.get_run(2).status == "succeeded"
    tuned = torch.load(resolve_home(home).run_dir(2) / "model.pt", weights_only=True)
    assert torch.equal(tuned["embedding.weight"], vectors["embedding.weight"])
    assert not torch.equal(tuned["lstm.weight_hh_l0"], vectors["lstm.weight_hh_l0"])
    assert [m.step for m in store.metrics(2, "val/accuracy")] == [4]

    capsys.readouterr()
    assert main(["evaluate", "1", "word-similarity", "--set", "k=2"]) == 0
    out = capsys.readouterr().out
    assert "antonym_cosine" in out and "random_cosine" in out

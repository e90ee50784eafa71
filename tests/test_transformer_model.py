"""The encoder-decoder Transformer: masks, the decoder cache, decoding and the schedule."""

from __future__ import annotations

import math

import pytest
import torch

from workbench.protocols import Seq2SeqModel
from workbench_transformer.architecture import PRESETS, TRANSFORMER_SPEC
from workbench_transformer.decoding import beam_search, greedy_decode, length_penalty_factor
from workbench_transformer.model import Transformer, TransformerConfig, sinusoidal_positions
from workbench_transformer.schedule import noam_lr

PAD, BOS, EOS, VOCAB = 0, 1, 2, 13


def tiny(**overrides) -> Transformer:
    options = {
        "encoder_layers": 2,
        "decoder_layers": 2,
        "d_model": 16,
        "n_head": 2,
        "d_ff": 32,
        "dropout": 0.0,
        "max_len": 32,
    }
    options.update(overrides)
    torch.manual_seed(0)
    return Transformer(TransformerConfig(**options), VOCAB).eval()


def batch(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Sources of lengths 7, 4 and 6 (right-padded) and decoder inputs starting with <bos>."""
    gen = torch.Generator().manual_seed(seed)
    src = torch.randint(3, VOCAB, (3, 7), generator=gen)
    src[1, 4:] = PAD
    src[2, 6:] = PAD
    tgt = torch.randint(3, VOCAB, (3, 6), generator=gen)
    tgt[:, 0] = BOS
    return src, src == PAD, tgt


MODELS = {
    "post-ln": {},
    "pre-ln": {"norm": "pre"},
    "learned-positions": {"positions": "learned"},
    "separate-embeddings": {"share_embeddings": False},
}


@pytest.mark.parametrize("options", MODELS.values(), ids=MODELS.keys())
def test_padding_is_never_attended_to(options):
    model = tiny(**options)
    src, src_pad, tgt = batch()
    logits = model(src, tgt, src_pad)
    # Whatever sits in the padding, and however much of it there is, changes nothing.
    noisy = src.masked_fill(src_pad, 5)
    assert torch.allclose(model(noisy, tgt, src_pad), logits, atol=1e-5)
    wider = torch.cat([src, torch.full((3, 3), 7)], dim=1)
    wider_pad = torch.cat([src_pad, torch.ones(3, 3, dtype=torch.bool)], dim=1)
    assert torch.allclose(model(wider, tgt, wider_pad), logits, atol=1e-5)
    maps = model.attention_maps(src, tgt, src_pad)
    for kind in ("encoder_self", "cross"):
        for layer in maps[kind]:
            assert layer[src_pad[:, None, None, :].expand_as(layer)].abs().max() == 0


@pytest.mark.parametrize("options", MODELS.values(), ids=MODELS.keys())
def test_no_look_ahead(options):
    model = tiny(**options)
    src, src_pad, tgt = batch()
    logits = model(src, tgt, src_pad)
    changed = tgt.clone()
    changed[:, 3:] = (changed[:, 3:] + 1 - 3) % (VOCAB - 3) + 3
    later = model(src, changed, src_pad)
    assert torch.allclose(later[:, :3], logits[:, :3], atol=1e-5)
    assert not torch.allclose(later[:, 3:], logits[:, 3:], atol=1e-3)
    for layer in model.attention_maps(src, tgt, src_pad)["decoder_self"]:
        assert layer.triu(diagonal=1).abs().max() == 0


def test_target_padding_mask_leaves_real_positions_alone():
    model = tiny()
    src, src_pad, tgt = batch()
    tgt_pad = torch.zeros_like(tgt, dtype=torch.bool)
    tgt_pad[0, 4:] = True
    with_mask = model(src, tgt, src_pad, tgt_pad)
    assert torch.allclose(with_mask[0, :4], model(src, tgt, src_pad)[0, :4], atol=1e-5)


@pytest.mark.parametrize("options", MODELS.values(), ids=MODELS.keys())
def test_decode_step_cache_equals_full_recomputation(options):
    model = tiny(**options)
    src, src_pad, tgt = batch()
    full = model(src, tgt, src_pad)
    memory = model.encode(src, src_pad)
    cache = model.new_cache()
    steps = [model.decode_step(tgt[:, t], memory, src_pad, cache) for t in range(tgt.size(1))]
    assert cache.length == tgt.size(1)
    assert torch.allclose(torch.stack(steps, dim=1), full, atol=1e-5)


def test_cache_select_reorders_rows():
    model = tiny()
    src, src_pad, tgt = batch()
    memory = model.encode(src, src_pad)
    cache = model.new_cache()
    for t in range(3):
        model.decode_step(tgt[:, t], memory, src_pad, cache)
    order = torch.tensor([2, 0, 1])
    cache.select(order)
    step = model.decode_step(tgt[order, 3], memory[order], src_pad[order], cache)
    assert torch.allclose(step, model(src, tgt, src_pad)[order, 3], atol=1e-5)


class TableModel:
    """A stand-in seq2seq model for testing decoding: the next-token logits are a fixed random
    function of the source and the tokens fed so far, so outputs vary and end at different
    steps, and the probability of any sequence is known exactly."""

    vocab_size, max_len = 7, 64

    def __init__(self, seed: int) -> None:
        gen = torch.Generator().manual_seed(seed)
        self.table = torch.randn(997, self.vocab_size, generator=gen) * 2.5
        self.table[:, EOS] -= 1.5  # fewer very short outputs

    def parameters(self):
        return iter([self.table])

    def eval(self):
        return self

    def encode(self, src, src_pad=None):
        real = src if src_pad is None else src.masked_fill(src_pad, 0)
        weights = torch.arange(1, src.size(1) + 1, dtype=torch.float32) ** 2
        return (real.float() * weights).sum(dim=1, keepdim=True)  # one number per source

    def new_cache(self):
        return _PrefixCache()

    def decode_step(self, tokens, memory, src_pad, cache):
        if not cache.prefixes:
            cache.prefixes = [() for _ in range(tokens.size(0))]
        cache.prefixes = [p + (t,) for p, t in zip(cache.prefixes, tokens.tolist(), strict=True)]
        rows = [
            hash((int(m), p)) % 997
            for m, p in zip(memory[:, 0].tolist(), cache.prefixes, strict=True)
        ]
        return self.table[rows]

    def logprob(self, src_row: torch.Tensor, out: list[int]) -> float:
        memory = self.encode(src_row[None])
        prefix, total = (), 0.0
        for token in [BOS, *out]:
            prefix = prefix + (token,)
            logits = self.table[hash((int(memory[0, 0]), prefix)) % 997].clone()
            logits[[PAD, BOS]] = float("-inf")
            nxt = out[len(prefix) - 1] if len(prefix) <= len(out) else EOS
            total += float(logits.log_softmax(-1)[nxt])
        return total


class _PrefixCache:
    def __init__(self) -> None:
        self.prefixes: list[tuple[int, ...]] = []

    def select(self, index: torch.Tensor) -> None:
        self.prefixes = [self.prefixes[i] for i in index.tolist()]


def table_sources(n: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(n)
    src = torch.randint(3, 7, (n, 5), generator=gen)
    src[::3, 3:] = PAD
    return src, src == PAD


def test_table_model_gives_varied_outputs():
    model = TableModel(0)
    src, src_pad = table_sources()
    outputs = greedy_decode(model, src, src_pad, BOS, EOS, 10, banned_ids=(PAD, BOS))
    assert len({tuple(o) for o in outputs}) >= 6
    assert len({len(o) for o in outputs}) >= 3  # they end at different steps


@pytest.mark.parametrize("seed", range(4))
def test_beam_width_one_equals_greedy(seed):
    model = TableModel(seed)
    src, src_pad = table_sources()
    greedy = greedy_decode(model, src, src_pad, BOS, EOS, 10, banned_ids=(PAD, BOS))
    for alpha in (0.0, 0.6, 2.0):
        beam = beam_search(
            model,
            src,
            src_pad,
            BOS,
            EOS,
            10,
            beam_size=1,
            length_penalty=alpha,
            banned_ids=(PAD, BOS),
        )
        assert beam == greedy


def test_beam_width_one_equals_greedy_on_the_transformer():
    model = tiny()
    src, src_pad, _ = batch()
    kwargs = {"bos_id": BOS, "eos_id": EOS, "max_new_tokens": 12, "banned_ids": (PAD, BOS)}
    assert model.generate(src, src_pad, beam_size=1, **kwargs) == beam_search(
        model, src, src_pad, BOS, EOS, 12, beam_size=1, banned_ids=(PAD, BOS)
    )


def test_beam_search_finds_more_likely_sequences_than_greedy():
    gains = []
    for seed in range(4):
        model = TableModel(seed)
        src, src_pad = table_sources()
        kwargs = {"banned_ids": (PAD, BOS)}
        greedy = greedy_decode(model, src, src_pad, BOS, EOS, 12, **kwargs)
        beam = beam_search(
            model, src, src_pad, BOS, EOS, 12, beam_size=6, length_penalty=0.0, **kwargs
        )
        for row in range(src.size(0)):
            s = src[row][~src_pad[row]]
            if len(greedy[row]) < 12 and len(beam[row]) < 12:  # both ended with <eos>
                gains.append(model.logprob(s, beam[row]) - model.logprob(s, greedy[row]))
    assert len(gains) >= 8 and min(gains) >= -1e-5
    assert max(gains) > 0  # beam search does find better sequences


class ConfidentCopyModel(TableModel):
    """Copies its source with probability 0.9 per token and spreads the rest evenly, except that
    <eos> always ranks second: a label-smoothed model over a tiny vocabulary."""

    def __init__(self, sources: torch.Tensor) -> None:
        self.sources = sources
        self.table = torch.zeros(1)

    def encode(self, src, src_pad=None):
        return src.float()

    def decode_step(self, tokens, memory, src_pad, cache):
        if not cache.prefixes:
            cache.prefixes = [() for _ in range(tokens.size(0))]
        cache.prefixes = [p + (t,) for p, t in zip(cache.prefixes, tokens.tolist(), strict=True)]
        logits = torch.full((tokens.size(0), self.vocab_size), math.log(0.1 / 6))
        logits[:, EOS] += 0.01
        for row, prefix in enumerate(cache.prefixes):
            source = [int(t) for t in memory[row].tolist()]
            position = len(prefix) - 1
            logits[row, source[position] if position < len(source) else EOS] = math.log(0.9)
        return logits


@pytest.mark.parametrize("alpha", [0.0, 0.6, 1.0])
def test_beam_search_is_not_fooled_by_early_junk_endings(alpha):
    src = torch.tensor([[3, 4, 5, 6, 5, 4, 3, 6], [6, 6, 5, 3, 4, 3, 5, 6]])
    model = ConfidentCopyModel(src)
    expected = src.tolist()
    assert greedy_decode(model, src, None, BOS, EOS, 20) == expected
    for width in (2, 4, 6):
        beam = beam_search(model, src, None, BOS, EOS, 20, beam_size=width, length_penalty=alpha)
        assert beam == expected


def test_batched_beam_search_equals_one_source_at_a_time():
    model = TableModel(1)
    src, src_pad = table_sources()
    together = beam_search(model, src, src_pad, BOS, EOS, 10, beam_size=3)
    alone = [
        beam_search(model, src[i : i + 1][:, ~src_pad[i]], None, BOS, EOS, 10, beam_size=3)[0]
        for i in range(src.size(0))
    ]
    assert together == alone


def test_length_penalty_favours_longer_outputs():
    model = TableModel(2)
    src, src_pad = table_sources(16)
    lengths = {
        alpha: sum(
            map(
                len,
                beam_search(model, src, src_pad, BOS, EOS, 12, beam_size=4, length_penalty=alpha),
            )
        )
        for alpha in (0.0, 3.0)
    }
    assert lengths[3.0] > lengths[0.0]


def test_length_penalty_is_gnmts():
    assert length_penalty_factor(1, 0.6) == pytest.approx(1.0)
    assert length_penalty_factor(7, 0.6) == pytest.approx(2.0**0.6)
    assert length_penalty_factor(10, 0.0) == 1.0


def test_shared_embeddings_are_one_matrix():
    model = tiny()
    assert model.src_embed.weight is model.tgt_embed.weight is model.generator.weight
    separate = tiny(share_embeddings=False)
    assert separate.src_embed.weight is not separate.generator.weight
    assert separate.num_parameters() > model.num_parameters()


def test_sinusoidal_positions_follow_the_formula():
    table = sinusoidal_positions(50, 8)
    assert table.shape == (50, 8)
    pos, i = 7, 1
    assert table[pos, 2 * i] == pytest.approx(math.sin(pos / 10000 ** (2 * i / 8)), abs=1e-6)
    assert table[pos, 2 * i + 1] == pytest.approx(math.cos(pos / 10000 ** (2 * i / 8)), abs=1e-6)


def test_sequences_longer_than_max_len_are_refused():
    model = tiny(max_len=8)
    with pytest.raises(ValueError, match="exceeds max_len 8"):
        model.encode(torch.full((1, 9), 4))


def test_protocol_presets_and_config_errors():
    model = tiny()
    assert isinstance(model, Seq2SeqModel)
    assert TRANSFORMER_SPEC.protocols == ("seq2seq",)
    base = TransformerConfig(**PRESETS["base"])
    assert (base.encoder_layers, base.decoder_layers, base.d_model, base.n_head, base.d_ff) == (
        6,
        6,
        512,
        8,
        2048,
    )
    assert base.norm == "post" and base.positions == "sinusoidal"
    with pytest.raises(ValueError, match="divisible by n_head"):
        TransformerConfig(d_model=30, n_head=4)


def test_schedule_values_at_known_steps():
    # The paper's base model: d_model 512, 4000 warm-up steps.
    assert noam_lr(1, 512, 4000) == pytest.approx(512**-0.5 * 4000**-1.5)
    assert noam_lr(4000, 512, 4000) == pytest.approx(512**-0.5 * 4000**-0.5)
    assert noam_lr(4000, 512, 4000) == pytest.approx(6.9877e-4, rel=1e-4)
    assert noam_lr(16000, 512, 4000) == pytest.approx(noam_lr(4000, 512, 4000) / 2)
    assert noam_lr(2000, 512, 4000) == pytest.approx(noam_lr(4000, 512, 4000) / 2)
    assert noam_lr(0, 512, 4000) == noam_lr(1, 512, 4000)
    assert noam_lr(100, 64, 10, factor=2.0) == pytest.approx(2 * 64**-0.5 * 100**-0.5)
    peak = max(range(1, 10000), key=lambda s: noam_lr(s, 512, 4000))
    assert peak == 4000

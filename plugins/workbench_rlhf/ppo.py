"""The ``ppo`` stage: fine-tune a causal LM against a reward model with PPO and a KL penalty
(InstructGPT; Ziegler et al. 2019; Hugging Face TRL's conventions).

One training batch is one *rollout*: ``rollout_batch_size`` prompts, a sampled response each
(stopping at a newline), then

1. the reward model's score ``r`` of prompt + response (a response that ran out of tokens is
   scored with the stop text after it: as the broken-off answer it is);
2. per-token rewards ``-kl_coef * (log pi(a_t) - log ref(a_t))`` against the frozen reference (the
   starting policy), plus ``r`` at the last response token;
3. a value head on the policy's (detached) hidden states, and GAE advantages (whitened) and
   returns;
4. ``ppo_epochs`` passes of clipped-surrogate + ``vf_coef`` * clipped value loss over mini-batches
   (Lightning manual optimisation: each mini-batch is one optimizer step).

The optional adaptive controller moves ``kl_coef`` towards ``target_kl``. The value head is saved
with the run (``heads.pt``, key ``"value"``).
"""

from __future__ import annotations

import math
from typing import Any

import pytorch_lightning as pl
import torch

from workbench.specs import PairToLabel, StageContext, StageParts
from workbench_rlhf.batches import ListData, collate_indices
from workbench_rlhf.config import PPOConfig  # noqa: F401  (re-exported)
from workbench_rlhf.curve import OverOptimisationProbe
from workbench_rlhf.dpo import frozen_copy, quiet_frozen_reference_warning
from workbench_rlhf.gold import load_judge
from workbench_rlhf.hacking import highest_proxy_pairs
from workbench_rlhf.heads import (
    VALUE_HEAD,
    RewardModel,
    ScalarHead,
    check_same_vocabulary,
    load_reward_model,
)
from workbench_rlhf.losses import (
    AdaptiveKLController,
    gae,
    kl_penalized_rewards,
    leave_one_out_advantages,
    masked_whiten,
    ppo_losses,
    whiten_scores,
)
from workbench_rlhf.rollout import fit_prompt, sample_responses, scoring_rows
from workbench_rlhf.sentinel import SENTINEL_PROMPT, Sentinel
from workbench_rlhf.sequences import (
    Encoded,
    SequenceBatch,
    logits_and_hidden,
    pad_batch,
    token_logprobs,
)
from workbench_rlhf.specs import PPO_SPEC  # noqa: F401  (re-exported)


class PPOTraining(pl.LightningModule):
    """PPO with a KL penalty, by manual optimisation (several optimizer steps per rollout)."""

    def __init__(
        self,
        model: torch.nn.Module,
        value_head: ScalarHead,
        reward: RewardModel,
        prompts: dict[str, list[list[int]]],
        texts: dict[str, list[str]],
        cfg: PPOConfig,
        tokenizer: Any,
        log_sample,
        seed: int,
        probe: OverOptimisationProbe | None = None,
        queue_pairs=None,
        train_properties: list[dict[str, Any]] | None = None,
        value_head_inherited: bool = False,
    ):
        super().__init__()
        self.automatic_optimization = False
        self.model, self.value_head, self.cfg = model, value_head, cfg
        # Registered, so that a checkpoint carries the original reference into a resumed run.
        self.reference = frozen_copy(model)
        self._reward = [reward]  # a plain list: not a submodule, never in checkpoints
        self._prompts, self._texts = prompts, texts
        self._tokenizer, self._log_sample, self._seed = tokenizer, log_sample, seed
        self._stop = tokenizer.encode(cfg.stop_text) if cfg.stop_text else []
        self.kl_ctl = AdaptiveKLController(cfg.kl_coef, cfg.target_kl, cfg.kl_horizon)
        self._rollouts_done = 0
        self._probe = probe
        self._curve: list[dict[str, float]] = []
        self._sentinel = Sentinel(cfg.sentinel_gold_drop, cfg.kl_budget)
        self._queue_pairs = queue_pairs
        self._train_properties = train_properties
        self._init_value = cfg.value_init and not value_head_inherited

    # -- Lightning plumbing ---------------------------------------------------------------
    def train(self, mode: bool = True) -> PPOTraining:
        super().train(mode)
        self.reference.eval()
        return self

    def on_fit_start(self) -> None:
        self._reward[0].to(self.device)

    def on_train_start(self) -> None:
        if self._rollouts_done == 0:  # a resumed run has its first point already
            self._curve_point()

    def _curve_point(self) -> None:
        """One point of the over-optimisation curve, logged as ``curve/*`` at this step."""
        if self._probe is None:
            return
        point = self._probe.measure(
            self.model, self.reference, self._reward[0], self._logprobs, self.device
        )
        point["rollouts"] = float(self._rollouts_done)
        point["kl_coef"] = self.kl_ctl.value
        self._curve.append(point)
        warning = self._sentinel.check(self._curve)
        logged = {f"curve/{k}": v for k, v in point.items()}
        logged["sentinel/warning"] = float(warning is not None)
        for logger in self.loggers:
            logger.log_metrics(logged, step=self.global_step)
        if warning is not None:
            queued = self._queue_hacking_pairs()
            if queued:
                warning += (
                    f"; queued {queued} comparison pair(s) of its highest-proxy answers and the "
                    "reference's for labelling (the Label tab, or workbench label)"
                )
            self._log_sample(self.global_step, SENTINEL_PROMPT, warning)

    def _queue_hacking_pairs(self) -> int:
        """Store the policy's highest-proxy answers to ``sentinel_pool`` training prompts, each
        against the reference's answer to the same prompt and seed, as pairs to label; how many
        were stored."""
        cfg = self.cfg
        if self._queue_pairs is None or cfg.sentinel_pairs == 0:
            return 0
        texts = self._texts["train"]
        gen = torch.Generator().manual_seed(self._seed * 7919 + self._rollouts_done)
        pool = torch.randperm(len(texts), generator=gen)[: cfg.sentinel_pool].tolist()
        seed = self._seed * 100_019 + self._rollouts_done
        picked = highest_proxy_pairs(
            self.model,
            self.reference,
            self._tokenizer,
            self._reward[0],
            [texts[i] for i in pool],
            count=cfg.sentinel_pairs,
            seed=seed,
            max_new_tokens=cfg.max_new_tokens,
            temperature=cfg.temperature,
            stop_text=cfg.stop_text,
            device=self.device,
        )
        generation = {
            "temperature": cfg.temperature,
            "top_k": None,
            "max_new_tokens": cfg.max_new_tokens,
            "stop": cfg.stop_text,
            "seed": seed,
        }
        props = self._train_properties
        pairs = [
            PairToLabel(
                prompt=texts[pool[p.index]],
                completion=p.policy,
                parent_completion=p.reference,
                properties=props[pool[p.index]] if props else {},
                generation={
                    **generation,
                    "step": self.global_step,
                    "rollouts": self._rollouts_done,
                    "proxy": p.proxy,
                    "sentinel": True,
                },
                parent_generation={**generation, "proxy": p.reference_proxy},
            )
            for p in picked
        ]
        return len(self._queue_pairs(pairs)) if pairs else 0

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["ppo"] = {
            "kl_coef": self.kl_ctl.value,
            "rollouts": self._rollouts_done,
            "curve": list(self._curve),  # the sentinel's memory
        }

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        state = checkpoint.get("ppo", {})
        self.kl_ctl.value = state.get("kl_coef", self.kl_ctl.value)
        self._rollouts_done = state.get("rollouts", 0)
        self._curve = list(state.get("curve", []))
        if self._rollouts_done:
            self._init_value = False  # the checkpoint's value head is already trained

    def configure_optimizers(self):  # type: ignore[override]
        groups = self.model.optimizer_groups(self.cfg.weight_decay)
        groups.append(
            {
                "params": list(self.value_head.parameters()),
                "weight_decay": 0.0,
                "lr": self.cfg.value_lr or self.cfg.lr,
            }
        )
        return torch.optim.AdamW(groups, lr=self.cfg.lr, fused=self.device.type == "cuda")

    # -- rollouts -------------------------------------------------------------------------
    def _generate(
        self, split: str, index: list[int], seed: int
    ) -> tuple[SequenceBatch, list[bool], SequenceBatch]:
        """The sampled rows (prompt + response), which finished, and what the reward model reads
        (:func:`~workbench_rlhf.rollout.scoring_rows`)."""
        prompts = [self._prompts[split][i] for i in index]
        gen = torch.Generator(device=self.device).manual_seed(seed)
        responses = sample_responses(
            self.model,
            prompts,
            self.cfg.max_new_tokens,
            self._stop,
            temperature=self.cfg.temperature,
            generator=gen,
            device=self.device,
        )
        rows = [Encoded([*p, *r.tokens], len(p)) for p, r in zip(prompts, responses, strict=True)]
        scored = scoring_rows(prompts, responses, self._stop, self._reward[0].block_size)
        return (
            pad_batch(rows).to(self.device),
            [r.finished for r in responses],
            pad_batch(scored).to(self.device),
        )

    def _logprobs(self, model: torch.nn.Module, ids: torch.Tensor) -> torch.Tensor:
        logits, _ = model(ids)
        return token_logprobs(logits / self.cfg.temperature, ids)

    def _policy(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits, hidden = logits_and_hidden(self.model, ids)
        # Detached: the value loss trains the head only and never moves the policy (with a shared
        # trunk, value gradients of a badly scaled reward drift the LM away for nothing).
        values = self.value_head(hidden[:, :-1].detach()).float()
        return token_logprobs(logits / self.cfg.temperature, ids), values

    @torch.no_grad()
    def _experience(self, batch: SequenceBatch, scored: SequenceBatch) -> dict[str, torch.Tensor]:
        mask = batch.completion_mask
        logprobs, values = self._policy(batch.ids)
        ref_logprobs = self._logprobs(self.reference, batch.ids)
        scores = self._reward[0].score(scored)
        used = whiten_scores(scores) if self.cfg.score_norm else scores
        rewards, kl = kl_penalized_rewards(
            used, logprobs, ref_logprobs, mask.float(), self.kl_ctl.value
        )
        if self.cfg.advantage == "rloo":
            # One return per answer (score minus the KL penalty of all its tokens), judged
            # against the other answers to the same prompt; every token gets the answer's
            # advantage. The value head is not used.
            per_answer = leave_one_out_advantages(rewards.sum(dim=1), self.cfg.samples_per_prompt)
            advantages = returns = per_answer[:, None] * mask
        else:
            if self._init_value:
                # Before any update the return of every position is the answer's score (the KL
                # terms are zero): start the value there, so GAE compares answers with each
                # other.
                self._init_value = False
                shift = used.mean() - values[mask].mean()
                self.value_head.linear.bias.add_(shift)
                values = values + shift
            advantages, returns = gae(rewards, values, mask, self.cfg.gamma, self.cfg.lam)
        return {
            "logprobs": logprobs,
            "values": values * mask,
            "advantages": masked_whiten(advantages, mask),
            "returns": returns,
            "scores": scores,
            "kl": kl.sum(dim=1),
        }

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        # Each prompt of the batch is answered samples_per_prompt times, side by side.
        index = [i for i in batch["index"].tolist() for _ in range(self.cfg.samples_per_prompt)]
        seed = self._seed * 100_003 + self._rollouts_done
        seqs, finished, scored = self._generate("train", index, seed)
        exp = self._experience(seqs, scored)
        stats = self._optimise(seqs, exp)
        kl_coef = self.kl_ctl.value
        kl = float(exp["kl"].mean())
        reward = float(exp["scores"].mean())
        self.kl_ctl.update(kl, len(index))
        self._rollouts_done += 1
        metrics = {
            "reward/mean": reward,
            "reward/std": float(exp["scores"].std()) if len(index) > 1 else 0.0,
            "kl": kl,
            "objective": reward - kl_coef * kl,
            "kl_coef": kl_coef,
            "response_length": float(seqs.completion_mask.sum(dim=1).float().mean()),
            "finished": sum(finished) / len(finished),
            **stats,
        }
        # Every rollout is worth a point on the curves; log_every_n_steps would thin them out.
        for logger in self.loggers:
            logger.log_metrics({f"train/{k}": v for k, v in metrics.items()}, step=self.global_step)
        if self.cfg.curve_interval and self._rollouts_done % self.cfg.curve_interval == 0:
            self._curve_point()

    def _optimise(self, seqs: SequenceBatch, exp: dict[str, torch.Tensor]) -> dict[str, float]:
        optimizer = self.optimizers()
        gen = torch.Generator().manual_seed(self._seed + self._rollouts_done)
        totals: dict[str, float] = {}
        count = 0
        mask = seqs.completion_mask
        for _ in range(self.cfg.ppo_epochs):
            order = torch.randperm(len(seqs), generator=gen).to(self.device)
            for mb in order.split(self.cfg.mini_batch_size):
                logprobs, values = self._policy(seqs.ids[mb])
                losses = ppo_losses(
                    logprobs,
                    exp["logprobs"][mb],
                    exp["advantages"][mb],
                    values,
                    exp["values"][mb],
                    exp["returns"][mb],
                    mask[mb],
                    self.cfg.clip_range,
                    self.cfg.clip_range_value,
                )
                loss = losses.policy_loss
                if self.cfg.advantage == "gae":
                    loss = loss + self.cfg.vf_coef * losses.value_loss
                optimizer.zero_grad()
                self.manual_backward(loss)
                if self.cfg.grad_clip:
                    self.clip_gradients(
                        optimizer,
                        gradient_clip_val=self.cfg.grad_clip,
                        gradient_clip_algorithm="norm",
                    )
                optimizer.step()
                for name, value in (
                    ("policy_loss", losses.policy_loss),
                    *((("value_loss", losses.value_loss),) if self.cfg.advantage == "gae" else ()),
                    ("clip_fraction", losses.clip_fraction),
                    ("approx_kl", losses.approx_kl),
                ):
                    totals[name] = totals.get(name, 0.0) + float(value.detach())
                count += 1
        return {name: total / count for name, total in totals.items()}

    # -- validation -----------------------------------------------------------------------
    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        index = batch["index"].tolist()
        seqs, _, scored = self._generate("val", index, self._seed + batch_idx)
        with torch.no_grad():
            scores = self._reward[0].score(scored)
            kl = (
                (self._logprobs(self.model, seqs.ids) - self._logprobs(self.reference, seqs.ids))
                * seqs.completion_mask
            ).sum(dim=1)
        size = len(index)
        self.log("val/reward/mean", scores.mean(), batch_size=size)
        self.log("val/kl", kl.mean(), batch_size=size)
        self.log("val/objective", (scores - self.kl_ctl.value * kl).mean(), batch_size=size)
        self.log(
            "val/response_length", seqs.completion_mask.sum(dim=1).float().mean(), batch_size=size
        )
        if batch_idx == 0 and not self.trainer.sanity_checking:
            for row in range(min(self.cfg.samples, size)):
                prompt = self._texts["val"][index[row]]
                n_prompt = len(self._prompts["val"][index[row]])
                tokens = seqs.ids[row, n_prompt : int(seqs.last[row]) + 1].tolist()
                self._log_sample(self.global_step, prompt, self._tokenizer.decode(tokens))


def encode_prompts(tokenizer, prompts: list[str], split: str, block_size: int, max_new: int):
    out = []
    for number, text in enumerate(prompts):
        try:
            ids = tokenizer.encode(text)
        except ValueError as error:
            raise ValueError(f"{split} prompt {number}: {error}") from None
        if not ids:
            raise ValueError(f"{split} prompt {number} encodes to no tokens")
        out.append(fit_prompt(ids, block_size, max_new))
    return out


def build_ppo(ctx: StageContext) -> StageParts:
    cfg: PPOConfig = ctx.config  # type: ignore[assignment]
    quiet_frozen_reference_warning()
    if ctx.load_run is None:
        raise ValueError("the ppo stage needs to load its reward run, and this runner cannot")
    prompt_set = ctx.dataset
    reward = load_reward_model(ctx.load_run(cfg.reward_run), cfg.reward_run)
    probes = [*prompt_set.train[:20], cfg.stop_text]
    check_same_vocabulary(ctx.tokenizer, reward.tokenizer, probes, cfg.reward_run)
    block_size = ctx.model.block_size
    if reward.block_size < block_size:
        raise ValueError(
            f"reward run {cfg.reward_run!r} reads at most {reward.block_size} tokens, fewer than "
            f"the policy's block_size {block_size}"
        )
    val_texts = list(prompt_set.val or prompt_set.train)[: cfg.val_prompts]
    prompts = {
        "train": encode_prompts(
            ctx.tokenizer, prompt_set.train, "train", block_size, cfg.max_new_tokens
        ),
        "val": encode_prompts(ctx.tokenizer, val_texts, "val", block_size, cfg.max_new_tokens),
    }
    probe = None
    if cfg.curve_interval:
        offset = len(prompt_set.train) if prompt_set.val else 0
        props = prompt_set.properties[offset : offset + len(val_texts)] or None
        world = (prompt_set.extras or {}).get("world")
        judge = None
        if cfg.gold_judge is not None and props and world is not None:
            judge = load_judge(cfg.gold_judge, cfg.gold_judge_options, world)
        probe = OverOptimisationProbe(
            val_texts,
            props if judge is not None else None,
            judge,
            ctx.tokenizer,
            samples=cfg.curve_samples,
            seed=ctx.run.seed + 1,
            max_new_tokens=cfg.max_new_tokens,
            stop_text=cfg.stop_text,
            temperature=cfg.temperature,
        )
    value_head = ScalarHead(ctx.model.hidden_size)
    inherited = VALUE_HEAD in ctx.parent_heads
    if inherited:
        value_head.load_state_dict(ctx.parent_heads[VALUE_HEAD])
    module = PPOTraining(
        ctx.model,
        value_head,
        reward,
        prompts,
        {"train": list(prompt_set.train), "val": val_texts},
        cfg,
        ctx.tokenizer,
        ctx.log_sample,
        ctx.run.seed,
        probe,
        queue_pairs=ctx.queue_pairs,
        train_properties=list(prompt_set.properties[: len(prompt_set.train)]) or None,
        value_head_inherited=inherited,
    )
    steps_per_rollout = cfg.ppo_epochs * math.ceil(cfg.rollout_batch_size / cfg.mini_batch_size)
    data = ListData(
        list(range(len(prompts["train"]))),
        list(range(len(prompts["val"]))),
        cfg.rollout_batch_size // cfg.samples_per_prompt,
        ctx.run.seed,
        collate_indices,
        batches_done=lambda trainer: trainer.global_step // steps_per_rollout,
    )
    # The val list is cut into rollout_batch_size batches; FixedBatches covers all of it.
    return StageParts(
        module=module,
        datamodule=data,
        max_steps=cfg.rollouts * steps_per_rollout,
        checkpoint_every=cfg.eval_interval * steps_per_rollout,
        trainer_kwargs={
            "val_check_interval": cfg.eval_interval,
            "check_val_every_n_epoch": None,
            "num_sanity_val_steps": 0,
        },
        heads={VALUE_HEAD: value_head},
    )

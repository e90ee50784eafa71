"""Stages for runner tests: ``slow-pretrain`` sleeps each step (so SIGTERM lands mid-run),
``crashing-pretrain`` raises at a chosen step and ``headed-pretrain`` adds a head (its weights one
more than the parent's head, or 1) and can load another run. All wrap the real ``pretrain``
stage. The ``heads-echo`` evaluation reports what heads and run config it was given."""

from __future__ import annotations

import time

import torch
from pydantic import BaseModel, ConfigDict, Field

from workbench import hookimpl
from workbench.data import TEXT
from workbench.protocols import CAUSAL_LM
from workbench.specs import EvaluationContext, EvaluationSpec, StageContext, StageParts, StageSpec
from workbench_gpt.pretrain import PretrainConfig, build_pretrain


class SlowConfig(PretrainConfig):
    step_sleep: float = Field(0.05, ge=0)


class CrashConfig(PretrainConfig):
    crash_at_step: int = Field(5, ge=0)


def build_slow(ctx: StageContext) -> StageParts:
    parts = build_pretrain(ctx)
    module = parts.module
    original = module.training_step
    delay = ctx.config.step_sleep

    def training_step(batch, batch_idx):
        time.sleep(delay)
        return original(batch, batch_idx)

    module.training_step = training_step
    return parts


class HeadedConfig(PretrainConfig):
    peek_run: str | None = Field(None, description="a run to load through ctx.load_run")


def build_headed(ctx: StageContext) -> StageParts:
    parts = build_pretrain(ctx)
    head = torch.nn.Linear(ctx.model.hidden_size, 2)
    with torch.no_grad():
        start = ctx.parent_heads["probe"]["weight"] if "probe" in ctx.parent_heads else 0.0
        head.weight.copy_(torch.zeros_like(head.weight) + start + 1.0)
        head.bias.zero_()
    parts.module.probe = head  # part of the module, so it is checkpointed too
    parts.heads = {"probe": head}
    if ctx.config.peek_run is not None:
        loaded = ctx.load_run(ctx.config.peek_run)
        ctx.log_sample(0, "peek", ",".join(sorted(loaded.heads)))
    return parts


class EchoConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")


def echo_heads(ctx: EvaluationContext) -> dict[str, float]:
    if "probe" not in ctx.heads:
        raise ValueError("the run has no probe head")
    return {
        "head_mean": float(ctx.heads["probe"]["weight"].mean()),
        "stage_max_steps": float(ctx.run_config["stage"]["max_steps"]),
    }


class InjectedCrash(RuntimeError):
    pass


def build_crash(ctx: StageContext) -> StageParts:
    parts = build_pretrain(ctx)
    module = parts.module
    original = module.training_step
    crash_at = ctx.config.crash_at_step

    def training_step(batch, batch_idx):
        if module.global_step >= crash_at:
            raise InjectedCrash(f"injected failure at step {module.global_step}")
        return original(batch, batch_idx)

    module.training_step = training_step
    return parts


@hookimpl
def register_stages(register):
    register(
        StageSpec(
            name="slow-pretrain",
            summary="pretrain, sleeping each step (tests)",
            config=SlowConfig,
            factory=build_slow,
            requires=CAUSAL_LM,
            dataset_kinds=(TEXT,),
        )
    )
    register(
        StageSpec(
            name="headed-pretrain",
            summary="pretrain plus a head saved with the run (tests)",
            config=HeadedConfig,
            factory=build_headed,
            requires=CAUSAL_LM,
            dataset_kinds=(TEXT,),
        )
    )
    register(
        StageSpec(
            name="crashing-pretrain",
            summary="pretrain that raises (tests)",
            config=CrashConfig,
            factory=build_crash,
            requires=CAUSAL_LM,
            dataset_kinds=(TEXT,),
        )
    )


@hookimpl
def register_evaluations(register):
    register(
        EvaluationSpec(
            name="heads-echo",
            summary="reports the heads and run config it receives (tests)",
            config=EchoConfig,
            factory=echo_heads,
        )
    )

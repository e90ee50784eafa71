"""Stages for runner tests: ``slow-pretrain`` sleeps each step (so SIGTERM lands mid-run) and
``crashing-pretrain`` raises at a chosen step. Both wrap the real ``pretrain`` stage."""

from __future__ import annotations

import time

from pydantic import Field

from workbench import hookimpl
from workbench.data import TEXT
from workbench.protocols import CAUSAL_LM
from workbench.specs import StageContext, StageParts, StageSpec
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
            name="crashing-pretrain",
            summary="pretrain that raises (tests)",
            config=CrashConfig,
            factory=build_crash,
            requires=CAUSAL_LM,
            dataset_kinds=(TEXT,),
        )
    )

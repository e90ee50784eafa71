"""What the machine can do: the accelerator a config resolves to, whether its precision is
supported, and the peak FLOP/s that MFU (model FLOPs utilisation) is measured against.

torch is imported only to ask the machine (CUDA, MPS), so that a command that validates a config
(:func:`validate_trainer_options`) imports it only when the answer depends on the machine.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from workbench.config import ConfigError, TrainerOptions

PEAK_BF16_FLOPS: tuple[tuple[str, float], ...] = (
    # (substring of torch.cuda.get_device_name(), dense bf16 FLOP/s), most specific first.
    ("H200", 989e12),
    ("H100 PCIE", 756e12),
    ("H100 NVL", 835e12),
    ("H100", 989e12),  # SXM, e.g. "NVIDIA H100 80GB HBM3"
    ("GH200", 989e12),
    ("A100", 312e12),
    ("A10G", 70e12),
    ("L40S", 362e12),
    ("L4", 121e12),
    ("RTX 4090", 165e12),
    ("RTX 3090", 71e12),
)
"""Dense bf16 tensor-core peaks from the vendors' data sheets (no sparsity)."""


def peak_bf16_flops(device_name: str) -> float | None:
    """The dense bf16 peak of a CUDA device by its name, or None when unknown (e.g. a CPU)."""
    upper = device_name.upper()
    for key, flops in PEAK_BF16_FLOPS:
        if key in upper:
            return flops
    return None


def mfu(
    flops_per_token: float, tokens_per_second: float, peak_flops: float, devices: int = 1
) -> float:
    """Model FLOPs utilisation: achieved model FLOP/s over the peak of all devices used."""
    return flops_per_token * tokens_per_second / (peak_flops * devices)


@dataclass(frozen=True)
class DevicePlan:
    accelerator: str
    """"cuda", "cpu" or "mps"."""
    name: str


def resolve_accelerator(options: TrainerOptions) -> DevicePlan:
    """The accelerator Lightning will pick for these options, on this machine."""
    wanted = options.accelerator.lower()
    if wanted not in ("gpu", "cuda", "auto", "mps"):
        return DevicePlan("cpu", "cpu")
    if wanted == "mps":
        return DevicePlan("mps", "mps")
    import torch

    if wanted in ("gpu", "cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(
                [
                    (
                        "trainer.accelerator",
                        f"{options.accelerator!r} requested but no CUDA device is available "
                        "(use 'cpu' or 'auto')",
                    )
                ]
            )
        return DevicePlan("cuda", torch.cuda.get_device_name(0))
    if wanted == "auto" and torch.cuda.is_available():
        return DevicePlan("cuda", torch.cuda.get_device_name(0))
    if wanted == "auto" and torch.backends.mps.is_available():
        return DevicePlan("mps", "mps")
    return DevicePlan("cpu", "cpu")


def check_trainer_options(options: TrainerOptions) -> DevicePlan:
    """Refuse options this machine cannot run, naming the field, before any run is recorded."""
    plan = resolve_accelerator(options)
    precision = str(options.precision)
    if precision.startswith("bf16") and plan.accelerator == "cuda" and not _cuda_bf16():
        raise ConfigError(
            [
                (
                    "trainer.precision",
                    f"{precision} needs a GPU with bfloat16 support (compute capability 8.0 "
                    f"or newer); {plan.name} has none: use 16-mixed or 32-true",
                )
            ]
        )
    if precision.startswith("16") and plan.accelerator == "cpu":
        raise ConfigError(
            [
                (
                    "trainer.precision",
                    f"{precision} (float16) is not supported on the CPU: use bf16-mixed or 32-true",
                )
            ]
        )
    _check_device_count(options, plan)
    return plan


def validate_trainer_options(options: TrainerOptions) -> None:
    """Refuse options this machine cannot run, as :func:`check_trainer_options` does, but without
    asking the machine (importing torch: seconds) where no machine could refuse them: ``auto``
    with one device (or Lightning's choice) and a precision that every accelerator runs. What a
    command calls before recording a run; the worker asks the machine again anyway."""
    precision = str(options.precision)
    wanted = _requested_devices(options.devices)
    if (
        options.accelerator.lower() == "auto"
        and not precision.startswith(("bf16", "16"))
        and (wanted is None or wanted <= 1)
    ):
        # Any plan accepts these options but a device count below one, refused on every plan.
        _check_device_count(options, DevicePlan("cpu", "cpu"))
        return
    check_trainer_options(options)


def _cuda_bf16() -> bool:
    import torch

    return torch.cuda.is_bf16_supported()


def _cuda_device_count() -> int:
    import torch

    return torch.cuda.device_count()


def available_cpus() -> int:
    """The cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _requested_devices(devices: int | str | list[int]) -> int | None:
    """How many processes ``devices`` asks for; None for "auto" / -1 (Lightning decides)."""
    if isinstance(devices, list):
        return len(devices)
    if isinstance(devices, str):
        text = devices.strip()
        if "," in text:
            return len([part for part in text.split(",") if part.strip()])
        if not text.lstrip("-").isdigit():
            return None
        devices = int(text)
    return None if devices == -1 else devices


def _check_device_count(options: TrainerOptions, plan: DevicePlan) -> None:
    wanted = _requested_devices(options.devices)
    if wanted is None:
        return
    if wanted < 1:
        raise ConfigError([("trainer.devices", f"must be at least 1 (or -1 / auto), got {wanted}")])
    if plan.accelerator == "cpu" and wanted > available_cpus():
        raise ConfigError(
            [
                (
                    "trainer.devices",
                    f"{wanted} CPU processes asked for, but this machine has "
                    f"{available_cpus()} core(s): use at most {available_cpus()}",
                )
            ]
        )
    if plan.accelerator == "cuda" and wanted > _cuda_device_count():
        raise ConfigError(
            [
                (
                    "trainer.devices",
                    f"{wanted} GPUs asked for, but this machine has {_cuda_device_count()}",
                )
            ]
        )

"""Device checks, peak FLOP/s and MFU."""

from __future__ import annotations

import pytest
import torch

from workbench.config import ConfigError, TrainerOptions
from workbench.devices import check_trainer_options, mfu, peak_bf16_flops
from workbench_gpt.model import GPT, GPTConfig


def test_peak_table_recognises_h100_and_h200():
    assert peak_bf16_flops("NVIDIA H100 80GB HBM3") == 989e12
    assert peak_bf16_flops("NVIDIA H200") == 989e12
    assert peak_bf16_flops("NVIDIA A100-SXM4-80GB") == 312e12
    assert peak_bf16_flops("NVIDIA H100 PCIe") == 756e12
    assert peak_bf16_flops("cpu") is None


def test_mfu_of_a_known_shape():
    # GPT-2 small shape: 12 layers, 12 heads, 768 wide, 1024 context, vocab 50304.
    model = GPT(GPTConfig(n_layer=12, n_head=12, n_embd=768, block_size=1024), vocab_size=50304)
    n = model.num_parameters(non_embedding=True)
    flops = model.flops_per_token()
    assert flops == 6 * n + 12 * 12 * 12 * 64 * 1024
    # N counts the tied token embedding (as nanoGPT's estimate_mfu does): about 124M, so
    # 6N + 12*L*H*Q*T is about 0.86 GFLOPs per token.
    assert 0.84e9 < flops < 0.87e9
    # 400k tokens/s on one H100 at that cost is about 32% MFU.
    assert mfu(flops, 400_000, 989e12) == pytest.approx(flops * 4e5 / 989e12)
    assert mfu(flops, 800_000, 989e12, devices=2) == pytest.approx(mfu(flops, 400_000, 989e12))


def test_bf16_on_a_gpu_without_bf16_is_refused(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *a: "Tesla V100-SXM2-16GB")
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(
        ConfigError, match=r"trainer.precision: bf16-mixed needs a GPU with bfloat16"
    ):
        check_trainer_options(TrainerOptions(accelerator="gpu", precision="bf16-mixed"))
    assert check_trainer_options(TrainerOptions(accelerator="gpu", precision="16-mixed")).name == (
        "Tesla V100-SXM2-16GB"
    )


def test_bf16_is_accepted_on_cpu_and_gpu_request_without_cuda_refused(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert (
        check_trainer_options(TrainerOptions(accelerator="cpu", precision="bf16-mixed")).accelerator
        == "cpu"
    )
    with pytest.raises(ConfigError, match="no CUDA device is available"):
        check_trainer_options(TrainerOptions(accelerator="gpu"))
    with pytest.raises(ConfigError, match="float16"):
        check_trainer_options(TrainerOptions(accelerator="cpu", precision="16-mixed"))


def test_more_devices_than_the_machine_has_are_refused(monkeypatch):
    from workbench.devices import available_cpus

    with pytest.raises(ConfigError, match="CPU processes asked for"):
        check_trainer_options(TrainerOptions(accelerator="cpu", devices=available_cpus() + 1))
    with pytest.raises(ConfigError, match="CPU processes asked for"):
        check_trainer_options(TrainerOptions(accelerator="cpu", devices=[0] * 99))
    with pytest.raises(ConfigError, match="must be at least 1"):
        check_trainer_options(TrainerOptions(accelerator="cpu", devices=0))
    assert check_trainer_options(TrainerOptions(accelerator="cpu", devices="auto")).name == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *a: "NVIDIA H200")
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    with pytest.raises(ConfigError, match="3 GPUs asked for, but this machine has 2"):
        check_trainer_options(TrainerOptions(accelerator="gpu", devices=3))


def test_validation_refuses_what_the_machine_check_refuses(monkeypatch):
    """validate_trainer_options (what a command runs before recording a run) skips the machine
    only where no machine could refuse; everything else is the full check."""
    from workbench.devices import available_cpus, validate_trainer_options

    validate_trainer_options(TrainerOptions(accelerator="auto", devices=1))
    with pytest.raises(ConfigError, match="must be at least 1"):
        validate_trainer_options(TrainerOptions(accelerator="auto", devices=0))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with pytest.raises(ConfigError, match="float16"):
        validate_trainer_options(TrainerOptions(accelerator="auto", precision="16-mixed"))
    with pytest.raises(ConfigError, match="CPU processes asked for"):
        validate_trainer_options(TrainerOptions(accelerator="auto", devices=available_cpus() + 1))
    with pytest.raises(ConfigError, match="no CUDA device is available"):
        validate_trainer_options(TrainerOptions(accelerator="gpu"))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *a: "Tesla V100-SXM2-16GB")
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(ConfigError, match="bfloat16"):
        validate_trainer_options(TrainerOptions(accelerator="auto", precision="bf16-mixed"))

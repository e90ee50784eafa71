"""GPU checks (marked ``gpu``; skipped without CUDA): the flash SDPA kernel, a bf16 + compile run
through the CLI with throughput and MFU logged. Run on a GPU machine with ``pytest -m gpu``."""

from __future__ import annotations

import pytest
import torch
import yaml

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


def test_attention_uses_the_flash_kernel_in_bf16():
    from torch.nn.attention import SDPBackend, sdpa_kernel

    from workbench_gpt.model import GPT, GPTConfig

    model = GPT(GPTConfig(n_layer=2, n_head=4, n_embd=256, block_size=256), vocab_size=100).cuda()
    idx = torch.randint(100, (4, 256), device="cuda")
    with torch.autocast("cuda", dtype=torch.bfloat16), sdpa_kernel([SDPBackend.FLASH_ATTENTION]):
        logits, loss = model(idx, idx)  # raises if the flash kernel cannot serve these inputs
    assert torch.isfinite(loss)


def test_bf16_compiled_run_logs_throughput_and_mfu(home, corpus, tmp_path):
    from workbench.cli import main
    from workbench.devices import peak_bf16_flops
    from workbench.paths import resolve_home
    from workbench.store import open_store

    config = {
        "name": "gpu",
        "stage": {
            "name": "pretrain",
            "max_steps": 40,
            "batch_size": 32,
            "eval_interval": 20,
            "eval_batches": 2,
            "sample_tokens": 16,
        },
        "architecture": {"name": "gpt", "preset": "gpt-nano", "pad_vocab_to": 64},
        "tokenizer": {"name": "char"},
        "dataset": {"name": "text-file", "path": str(corpus)},
        "trainer": {
            "accelerator": "gpu",
            "precision": "bf16-mixed",
            "compile": True,
            "log_every_n_steps": 5,
        },
    }
    path = tmp_path / "gpu.yaml"
    path.write_text(yaml.safe_dump(config))
    assert main(["run", str(path)]) == 0
    store = open_store(resolve_home(home))
    run = store.get_run(1)
    assert run.status == "succeeded" and run.device.startswith("cuda")
    names = set(store.metric_names(1))
    assert "throughput/tokens_per_s" in names
    if peak_bf16_flops(torch.cuda.get_device_name()):
        assert "throughput/mfu" in names

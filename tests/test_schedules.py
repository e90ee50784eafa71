"""The shared warm-up + cosine schedule."""

from __future__ import annotations

import pytest

from workbench.schedules import warmup_cosine


def test_warmup_then_cosine_to_the_floor_then_flat():
    assert warmup_cosine(0, 10, 110) == pytest.approx(1 / 11)
    assert warmup_cosine(9, 10, 110) == pytest.approx(10 / 11)
    assert warmup_cosine(10, 10, 110) == pytest.approx(1.0)
    assert warmup_cosine(60, 10, 110, min_ratio=0.2) == pytest.approx(0.6)  # half way
    assert warmup_cosine(110, 10, 110, min_ratio=0.2) == pytest.approx(0.2)
    assert warmup_cosine(500, 10, 110, min_ratio=0.2) == pytest.approx(0.2)
    values = [warmup_cosine(s, 10, 110) for s in range(10, 111)]
    assert values == sorted(values, reverse=True)

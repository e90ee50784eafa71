"""The reward-hacking sentinel on synthetic over-optimisation curves: proxy up while gold down
warns, a healthy run (both up, or noise) does not, and a KL budget warns when passed."""

from __future__ import annotations

from workbench_rlhf.sentinel import Sentinel


def curve(proxy: list[float], gold: list[float], kl: list[float] | None = None) -> list[dict]:
    kl = kl or [float(i) for i in range(len(proxy))]
    return [{"proxy": p, "gold": g, "kl": k} for p, g, k in zip(proxy, gold, kl, strict=True)]


def warnings(sentinel: Sentinel, points: list[dict]) -> list[bool]:
    """Whether the sentinel warns at each point, fed the curve as it grows."""
    return [sentinel.check(points[: i + 1]) is not None for i in range(len(points))]


def test_proxy_up_gold_down_warns_once_the_window_shows_it():
    # Gao et al.'s shape: the gold rises, peaks at point 2, then falls while the proxy climbs.
    hacked = curve(proxy=[-3, -2, -1, 0, 1, 2], gold=[1.0, 2.0, 2.5, 2.3, 1.8, 1.0])
    sentinel = Sentinel(window=2, gold_drop=0.3)
    assert warnings(sentinel, hacked) == [False, False, False, False, True, True]
    message = sentinel.check(hacked)
    assert "proxy reward rose by 2.00" in message and "gold reward fell by 1.30" in message


def test_a_healthy_run_and_noise_do_not_warn():
    sentinel = Sentinel(window=2, gold_drop=0.3)
    healthy = curve(proxy=[-3, -2, -1, 0, 1], gold=[1.0, 1.5, 2.0, 2.4, 2.6])
    assert not any(warnings(sentinel, healthy))
    noisy = curve(proxy=[-3, -2, -1, 0, 1], gold=[2.0, 2.2, 1.9, 2.1, 1.8])  # drops <= 0.3
    assert not any(warnings(sentinel, noisy))
    both_down = curve(proxy=[0, -1, -2], gold=[2.0, 1.0, 0.0])  # no proxy gain: not hacking
    assert not any(warnings(sentinel, both_down))
    no_gold = [{"proxy": p, "kl": 0.0} for p in (0.0, 1.0, 2.0)]  # no judge: proxy alone
    assert not any(warnings(sentinel, no_gold))


def test_a_kl_budget_warns_when_passed():
    sentinel = Sentinel(kl_budget=10.0)
    points = curve(proxy=[0, 1, 2], gold=[1, 2, 3], kl=[0.0, 9.0, 12.5])
    assert warnings(sentinel, points) == [False, False, True]
    assert "12.50 nats" in sentinel.check(points)

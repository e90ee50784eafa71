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
    sentinel = Sentinel(gold_drop=0.3)
    assert warnings(sentinel, hacked) == [False, False, False, False, True, True]
    message = sentinel.check(hacked)
    assert "gold reward fell by 1.50 from its best (2.50" in message
    assert "proxy reward rose by 3.00" in message


def test_a_healthy_run_and_noise_do_not_warn():
    sentinel = Sentinel(gold_drop=0.3)
    healthy = curve(proxy=[-3, -2, -1, 0, 1], gold=[1.0, 1.5, 2.0, 2.4, 2.6])
    assert not any(warnings(sentinel, healthy))
    noisy = curve(
        proxy=[-3, -2, -1, 0, 1], gold=[2.0, 2.2, 1.95, 2.1, 1.95]
    )  # <= 0.3 below the best
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


def test_the_measured_curves_of_docs_rlhf():
    """The curves measured in docs/rlhf.md: PPO against the plain reward model over-optimises
    (the gold slides from its peak at 5 rollouts while the proxy climbs) and is caught at rollout
    30; the shipped PPO run is not."""
    plain = curve(
        proxy=[-3.52, -1.00, -0.79, -0.20, 0.82, 0.64, -0.23, 0.24, -0.99],
        gold=[0.58, 0.67, 0.55, 0.61, 0.48, 0.52, 0.44, 0.66, 0.56],
    )
    assert warnings(Sentinel(), plain) == [False] * 6 + [True, False, False]
    shipped = curve(
        proxy=[-5.25, -6.16, -6.72, -5.63, -5.80, -5.88, -6.21, -6.06, -5.57],
        gold=[0.58, 0.80, 0.52, 0.78, 0.86, 0.88, 0.86, 0.83, 0.86],
    )
    assert not any(warnings(Sentinel(), shipped))


def test_a_fall_within_the_curve_points_noise_does_not_warn():
    """With each point's standard error (``gold_se``), a fall counts only beyond twice the
    standard error of the difference; the same fall measured precisely still warns."""
    gold = [5.25, 5.6, 5.2, 5.3]
    proxy = [0.2, 0.4, 0.6, 0.8]
    noisy = [{**p, "gold_se": 0.25} for p in curve(proxy, gold)]
    assert not any(warnings(Sentinel(gold_drop=0.2), noisy))
    precise = [{**p, "gold_se": 0.05} for p in curve(proxy, gold)]
    assert warnings(Sentinel(gold_drop=0.2), precise) == [False, False, True, True]
    # Far beyond the noise: warns whatever the standard error.
    slide = [{**p, "gold_se": 0.25} for p in curve(proxy, [5.25, 5.6, 4.5, 3.9])]
    assert warnings(Sentinel(gold_drop=0.2), slide) == [False, False, True, True]

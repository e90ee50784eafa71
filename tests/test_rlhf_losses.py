"""RLHF losses on hand-computed values: Bradley-Terry, DPO, GAE, the per-token KL penalty, PPO's
clipped losses, the adaptive KL controller, and completion-only log-probabilities."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from workbench_rlhf.losses import (
    AdaptiveKLController,
    bradley_terry_loss,
    dpo_loss,
    gae,
    kl_penalized_rewards,
    leave_one_out_advantages,
    masked_whiten,
    ppo_losses,
    whiten_scores,
)
from workbench_rlhf.sequences import (
    Encoded,
    completion_logprob,
    fit_to_window,
    last_hidden,
    pad_batch,
    token_logprobs,
)

torch.set_num_threads(1)


def softplus(x: float) -> float:
    """-log sigmoid(-x) = log(1 + e^x)."""
    return math.log1p(math.exp(x))


def test_bradley_terry_on_hand_values():
    loss = bradley_terry_loss(torch.tensor([2.0, 0.0]), torch.tensor([1.0, 1.0]))
    # -log sigmoid(1) = log(1 + e^-1); -log sigmoid(-1) = log(1 + e^1)
    assert float(loss) == pytest.approx((softplus(-1.0) + softplus(1.0)) / 2, rel=1e-6)
    # Equal scores: log 2, whatever the scale; swapping the pair raises the loss.
    assert float(bradley_terry_loss(torch.tensor([5.0]), torch.tensor([5.0]))) == pytest.approx(
        math.log(2)
    )
    assert float(bradley_terry_loss(torch.tensor([0.0]), torch.tensor([3.0]))) > float(
        bradley_terry_loss(torch.tensor([3.0]), torch.tensor([0.0]))
    )


def test_dpo_loss_and_implicit_rewards_on_hand_values():
    out = dpo_loss(
        policy_chosen=torch.tensor([-1.0, -4.0]),
        policy_rejected=torch.tensor([-3.0, -2.0]),
        reference_chosen=torch.tensor([-2.0, -4.0]),
        reference_rejected=torch.tensor([-2.0, -2.0]),
        beta=0.5,
    )
    # Row 0: ((-1 + 2) - (-3 + 2)) = 2 -> logit 1; row 1: 0 -> logit 0.
    assert float(out.loss) == pytest.approx((softplus(-1.0) + math.log(2)) / 2, rel=1e-6)
    assert out.chosen_rewards.tolist() == pytest.approx([0.5, 0.0])
    assert out.rejected_rewards.tolist() == pytest.approx([-0.5, 0.0])
    assert float(out.accuracy) == pytest.approx(0.5)  # the tie does not count
    assert float(out.margin) == pytest.approx(0.5)
    # Conservative DPO: eps of the labels flipped.
    smoothed = dpo_loss(
        torch.tensor([-1.0]), torch.tensor([-3.0]), torch.tensor([-2.0]), torch.tensor([-2.0]),
        beta=0.5, label_smoothing=0.25,
    )  # fmt: skip
    assert float(smoothed.loss) == pytest.approx(0.75 * softplus(-1.0) + 0.25 * softplus(1.0))


def test_dpo_loss_gradient_pushes_chosen_up_and_rejected_down():
    chosen = torch.tensor([-2.0], requires_grad=True)
    rejected = torch.tensor([-2.0], requires_grad=True)
    dpo_loss(chosen, rejected, torch.tensor([-2.0]), torch.tensor([-2.0]), beta=0.1).loss.backward()
    assert float(chosen.grad) < 0 < float(rejected.grad)
    assert float(chosen.grad) == pytest.approx(-0.1 * 0.5)  # -beta * sigmoid(0)


def test_gae_on_a_hand_example():
    rewards = torch.tensor([[0.0, 0.0, 1.0]])
    values = torch.tensor([[0.5, 0.6, 0.7]])
    mask = torch.ones(1, 3, dtype=torch.bool)
    advantages, returns = gae(rewards, values, mask, gamma=1.0, lam=0.5)
    # delta = [0.1, 0.1, 0.3]; A2 = 0.3, A1 = 0.1 + 0.5 * 0.3, A0 = 0.1 + 0.5 * 0.25
    assert advantages[0].tolist() == pytest.approx([0.225, 0.25, 0.3])
    assert returns[0].tolist() == pytest.approx([0.725, 0.85, 1.0])
    # gamma < 1 discounts the next value.
    adv, _ = gae(rewards, values, mask, gamma=0.5, lam=1.0)
    # delta = [0.5*0.6-0.5, 0.5*0.7-0.6, 0.3] = [-0.2, -0.25, 0.3]; A = delta + 0.5 * A_next
    assert adv[0].tolist() == pytest.approx([-0.2 + 0.5 * (-0.25 + 0.15), -0.25 + 0.15, 0.3])


def test_gae_ignores_prompt_and_padding_positions():
    # The same response sits at positions 2..4 of a row with a prompt before it and padding after.
    rewards = torch.tensor([[9.0, 9.0, 0.0, 0.0, 1.0, 9.0]])
    values = torch.tensor([[9.0, 9.0, 0.5, 0.6, 0.7, 9.0]])
    mask = torch.tensor([[False, False, True, True, True, False]])
    advantages, returns = gae(rewards * mask, values, mask, gamma=1.0, lam=0.5)
    assert advantages[0].tolist() == pytest.approx([0, 0, 0.225, 0.25, 0.3, 0])
    assert returns[0].tolist() == pytest.approx([0, 0, 0.725, 0.85, 1.0, 0])


def test_kl_penalty_on_every_response_token_and_score_on_the_last():
    logprobs = torch.tensor([[-1.0, -1.0, -2.0, -0.5, -3.0]])
    ref_logprobs = torch.tensor([[-5.0, -1.5, -1.0, -0.5, -5.0]])
    mask = torch.tensor([[0.0, 1.0, 1.0, 1.0, 0.0]])  # prompt, 3 response tokens, padding
    rewards, kl = kl_penalized_rewards(torch.tensor([2.0]), logprobs, ref_logprobs, mask, 0.1)
    assert kl[0].tolist() == pytest.approx([0.0, 0.5, -1.0, 0.0, 0.0])
    assert rewards[0].tolist() == pytest.approx([0.0, -0.05, 0.1, 2.0, 0.0])
    # The policy equal to the reference: no penalty at all, only the score.
    same, kl0 = kl_penalized_rewards(torch.tensor([2.0]), logprobs, logprobs, mask, 0.1)
    assert float(kl0.abs().sum()) == 0.0 and same[0].tolist() == pytest.approx([0, 0, 0, 2.0, 0])
    with pytest.raises(ValueError, match="at least one token"):
        kl_penalized_rewards(torch.tensor([1.0]), logprobs, ref_logprobs, mask * 0, 0.1)


def test_whitened_scores_have_zero_mean_and_unit_spread():
    scores = torch.tensor([-14.0, -12.0, -10.0, -12.0])
    out = whiten_scores(scores)
    assert float(out.mean()) == pytest.approx(0.0, abs=1e-6)
    assert float(out.std()) == pytest.approx(1.0, abs=1e-4)
    assert out.argmax() == 2 and out.argmin() == 0  # the order is kept
    assert torch.equal(whiten_scores(torch.tensor([-3.0])), torch.tensor([-3.0]))


def test_ppo_losses_clip_the_ratio_and_the_value():
    mask = torch.ones(1, 2, dtype=torch.bool)
    old = torch.tensor([[-1.0, -1.0]])
    adv = torch.tensor([[1.0, -1.0]])
    values = torch.tensor([[0.0, 0.0]])
    returns = torch.tensor([[1.0, 1.0]])
    # Same policy: ratio 1, loss -mean(A) = 0, nothing clipped.
    same = ppo_losses(old, old, adv, values, values, returns, mask)
    assert float(same.policy_loss) == pytest.approx(0.0)
    assert float(same.clip_fraction) == 0.0 and float(same.approx_kl) == 0.0
    assert float(same.value_loss) == pytest.approx(0.5)
    # Ratio e^0.5 ~ 1.65 on both tokens: the positive advantage is clipped at 1.2, the negative
    # one is not (max of the two losses).
    new = old + 0.5
    out = ppo_losses(new, old, adv, values, values, returns, mask, clip_range=0.2)
    ratio = math.exp(0.5)
    assert float(out.policy_loss) == pytest.approx((-1.2 + ratio) / 2)
    assert float(out.clip_fraction) == pytest.approx(0.5)
    assert float(out.approx_kl) == pytest.approx(0.5 * 0.25)
    # Value moved 0 -> 0.9 from old 0 with returns 1: clipped value 0.2 gives the larger loss.
    moved = ppo_losses(old, old, adv, values + 0.9, values, returns, mask, clip_range_value=0.2)
    assert float(moved.value_loss) == pytest.approx(0.5 * 0.8**2)


def test_leave_one_out_judges_each_answer_against_the_others_to_its_prompt():
    # Two prompts, three answers each: the first prompt is easy (high returns), the second hard.
    returns = torch.tensor([10.0, 12.0, 14.0, -3.0, -3.0, 0.0])
    adv = leave_one_out_advantages(returns, group=3)
    # 10 - mean(12, 14) = -3; 12 - 12 = 0; 14 - 11 = 3; -3 - mean(-3, 0) = -1.5; 0 - (-3) = 3.
    assert adv.tolist() == pytest.approx([-3.0, 0.0, 3.0, -1.5, -1.5, 3.0])
    # The hard prompt's best answer gets as much credit as the easy prompt's best.
    assert float(adv.view(2, 3).sum(dim=1).abs().max()) == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="at least 2"):
        leave_one_out_advantages(returns, group=1)
    with pytest.raises(ValueError, match="groups of 4"):
        leave_one_out_advantages(returns, group=4)


def test_masked_whiten_uses_masked_positions_only():
    values = torch.tensor([[1.0, 3.0, 100.0]])
    mask = torch.tensor([[True, True, False]])
    assert masked_whiten(values, mask)[0].tolist() == pytest.approx([-1.0, 1.0, 0.0], abs=1e-4)


def test_adaptive_kl_controller_moves_towards_the_target():
    fixed = AdaptiveKLController(0.1)
    fixed.update(kl=100.0, n_steps=32)
    assert fixed.value == 0.1
    ctl = AdaptiveKLController(0.1, target=6.0, horizon=100)
    ctl.update(kl=12.0, n_steps=10)  # error clipped to +0.2
    assert ctl.value == pytest.approx(0.1 * (1 + 0.2 * 10 / 100))
    ctl.update(kl=5.4, n_steps=10)  # error -0.1
    assert ctl.value == pytest.approx(0.1 * 1.02 * (1 - 0.1 * 10 / 100))


def test_completion_only_logprobs_mask_prompt_and_padding():
    rows = [Encoded([1, 2, 3, 4], prompt_len=2), Encoded([5, 6, 7], prompt_len=1)]
    batch = pad_batch(rows, pad_id=0)
    assert batch.ids.tolist() == [[1, 2, 3, 4], [5, 6, 7, 0]]
    # Targets at t+1: row 0 scores tokens 3, 4 (t = 1, 2); row 1 scores 6, 7 (t = 0, 1).
    assert batch.completion_mask.tolist() == [[False, True, True], [True, True, False]]
    assert batch.last.tolist() == [3, 2]
    torch.manual_seed(0)
    logits = torch.randn(2, 4, 9)
    logp = F.log_softmax(logits, dim=-1)
    expected = [
        float(logp[0, 1, 3] + logp[0, 2, 4]),
        float(logp[1, 0, 6] + logp[1, 1, 7]),
    ]
    assert completion_logprob(logits, batch).tolist() == pytest.approx(expected, rel=1e-5)
    # Changing the logits that predict prompt tokens, or that sit on padding, changes nothing.
    changed = logits.clone()
    changed[0, 0] += 5.0  # predicts prompt token 2
    changed[1, 2:] -= 3.0  # predicts padding / after the end
    changed[0, 3] += 7.0  # after the last token
    assert completion_logprob(changed, batch).tolist() == pytest.approx(expected, rel=1e-5)
    assert token_logprobs(logits, batch.ids).shape == (2, 3)
    hidden = torch.arange(2 * 4 * 1, dtype=torch.float).view(2, 4, 1)
    assert last_hidden(hidden, batch.last).flatten().tolist() == [3.0, 6.0]


def test_fit_to_window_keeps_the_prompt_end_and_the_completion_start():
    enc = fit_to_window(list(range(10)), [100, 101, 102], block_size=8)
    assert enc.ids == [5, 6, 7, 8, 9, 100, 101, 102] and enc.prompt_len == 5
    long = fit_to_window([1, 2], list(range(100, 120)), block_size=8)
    assert long.ids == [1, 2, 100, 101, 102, 103, 104, 105] and long.completion_len == 6
    with pytest.raises(ValueError, match="no tokens"):
        fit_to_window([], [1], 8)


def test_likelihood_features_on_hand_values():
    from workbench_rlhf.heads import likelihood_features

    # Vocabulary of 2. Position 0 predicts uniformly, position 1 is sure of token 0.
    logits = torch.tensor([[[0.0, 0.0], [30.0, -30.0], [0.0, 0.0]]])
    mask = torch.tensor([[True, True]])
    # ids[1] = 1 under the uniform guess: log p = H = -log 2 ... excess 0;
    # ids[2] = 0 where the LM was sure of 0: excess 0. Nothing surprising.
    expected = likelihood_features(logits, torch.tensor([[0, 1, 0]]), mask)
    assert expected[0].tolist() == pytest.approx([0.0, 0.0, -math.log(2) / 2], abs=1e-6)
    # ids[2] = 1 where the LM was sure of 0: log p = -60, entropy ~0: excess -60.
    wrong = likelihood_features(logits, torch.tensor([[0, 1, 1]]), mask)
    assert wrong[0].tolist() == pytest.approx([-60.0, -60.0, (-math.log(2) - 60) / 2], abs=1e-4)
    # Prompt positions do not count.
    only_last = likelihood_features(
        logits, torch.tensor([[0, 1, 1]]), torch.tensor([[False, True]])
    )
    assert only_last[0].tolist() == pytest.approx([-60.0, -60.0, -60.0], abs=1e-4)

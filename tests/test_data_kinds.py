"""Dataset kinds shared between dataset plugins and stages: validation names what is wrong."""

from __future__ import annotations

import pytest

from workbench.data import LabelledTask, PreferencePairs, PromptSet


def task(task_type="classification", train=None, **kwargs):
    records = train if train is not None else [{"text": "good", "label": 1}]
    return LabelledTask(
        name="t", task_type=task_type, labels=["neg", "pos"], train=records, val=[], **kwargs
    )


def test_labelled_task_accepts_each_task_type_and_lists_texts():
    assert task().texts() == ["good"]
    entail = task("entailment", [{"premise": "a", "hypothesis": "b", "label": 0}])
    assert entail.texts() == ["a", "b"]
    similar = task("similarity", [{"text_a": "a", "text_b": "b", "label": 1}])
    assert similar.texts() == ["a", "b"]
    choice = task("multiple_choice", [{"context": "c", "choices": ["x", "y", "z"], "label": 2}])
    assert choice.texts() == ["c", "x", "y", "z"]
    assert choice.split("train")[0]["label"] == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"task_type": "regression"}, "unknown task_type 'regression'"),
        ({"train": []}, "training split is empty"),
        ({"train": [{"label": 0}]}, "train record 0: missing field 'text'"),
        ({"train": [{"text": "x", "label": 2}]}, "label 2 is out of range 0..1"),
        ({"train": [{"text": "x", "label": "pos"}]}, "label must be an integer"),
        (
            {
                "task_type": "multiple_choice",
                "train": [{"context": "c", "choices": ["x"], "label": 0}],
            },
            "choices must be a list of at least 2",
        ),
    ],
)
def test_labelled_task_refuses_bad_records(kwargs, message):
    with pytest.raises(ValueError, match=message):
        task(**kwargs)


def test_split_name_is_checked():
    with pytest.raises(ValueError, match="unknown split 'dev'"):
        task().split("dev")


def test_preference_pairs_and_prompt_sets_validate():
    pairs = PreferencePairs(train=[{"prompt": "p", "chosen": "c", "rejected": "r"}], val=[])
    assert pairs.texts() == ["p", "c", "r"]
    with pytest.raises(ValueError, match="train pair 0: 'rejected' must be a string"):
        PreferencePairs(train=[{"prompt": "p", "chosen": "c"}], val=[])
    prompts = PromptSet(train=["a"], val=["b"], properties=[{}, {}])
    assert prompts.texts() == ["a", "b"]
    with pytest.raises(ValueError, match="one entry per prompt"):
        PromptSet(train=["a"], val=["b"], properties=[{}])

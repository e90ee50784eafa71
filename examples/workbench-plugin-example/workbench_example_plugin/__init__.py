"""Example third-party plugin: registers the ``counting`` text dataset."""

from pydantic import BaseModel, ConfigDict, Field

from workbench import hookimpl
from workbench.data import TextCorpus
from workbench.specs import DatasetContext, DatasetSpec

__version__ = "0.2.0"

WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


class CountingConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    size_chars: int = Field(20_000, ge=1_000, description="approximate size of the text")
    val_fraction: float = Field(0.1, gt=0, lt=1)


def build_counting(config: CountingConfig, ctx: DatasetContext) -> TextCorpus:
    lines, total, i = [], 0, ctx.seed
    while total < config.size_chars:
        a = WORDS[i % 10]
        b = WORDS[(i + 1) % 10]
        line = f"{b} comes after {a}."
        lines.append(line)
        total += len(line) + 1
        i += 1
    text = "\n".join(lines)
    cut = int(len(text) * (1 - config.val_fraction))
    return TextCorpus(train=text[:cut], val=text[cut:])


@hookimpl
def register_datasets(register):
    register(
        DatasetSpec(
            name="counting",
            summary="Counting sentences (example plugin)",
            config=CountingConfig,
            factory=build_counting,
            dataset_kind="text",
        )
    )

"""A tiny built-in plugin: the ``bigram`` language model.

The smallest possible causal LM (one embedding table of next-token logits). It trains in a second,
so the runner's tests exercise real training, and it is the shortest example of an architecture
plugin to copy when writing your own.
"""

from workbench import hookimpl


@hookimpl
def register_architectures(register):
    from workbench_toy.specs import BIGRAM_SPEC

    register(BIGRAM_SPEC)

"""The plugin under test, for the workbench's pytest fixtures (``workbench.testing``, installed
with the workbench as a pytest plugin: nothing to import here)."""

import pytest


@pytest.fixture
def workbench_plugins():
    return ["workbench_example_plugin"]

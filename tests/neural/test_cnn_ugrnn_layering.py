"""The new model modules obey the layering of tests/test_architecture.py: they live in `neural`, import only
neural/ngram/tokenizers_kit (lazy imports included), take part in no import cycle, and the CLI reaches them
only through `cli.train_neural` (the loader finds them by format in neural.checkpoint)."""
from __future__ import annotations

import pytest

from tests.test_architecture import LAYERS, ROOT, cycles, import_graph, imports, modules

NEW = ["neural.cnn_lm", "neural.cnn_config", "neural.conv", "neural.conv_reference", "neural.glu",
       "neural.ugrnn_kernels"]


@pytest.mark.parametrize("name", NEW)
def test_new_modules_import_only_lower_layers(name):
    path = modules()[name]
    assert path.is_relative_to(ROOT / "neural")
    assert {t.split(".")[0] for t in imports(path, top_level_only=False)} <= set(LAYERS[:3])


def test_no_cycle_through_the_new_modules():
    for component in cycles(import_graph(LAYERS, top_level_only=True)):
        assert not set(component) & set(NEW), component


def test_cli_reaches_the_new_models_through_train_neural_only():
    users = {name for name, path in modules(["cli"]).items()
             if {"neural.cnn_lm", "neural.cnn_config"} & imports(path, top_level_only=False)}
    assert users == {"cli.train_neural"}

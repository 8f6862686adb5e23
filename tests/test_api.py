"""The public namespace: every exported name resolves, and no submodule shadows one."""

from __future__ import annotations

import importlib
import pkgutil

import izzyviz


def test_exports_survive_importing_every_submodule() -> None:
    # Importing a submodule sets it as an attribute of the package: a function named like a
    # module (izzyviz.aggregate vs izzyviz/aggregate.py) would be replaced by the module.
    for module in pkgutil.iter_modules(izzyviz.__path__):
        importlib.import_module(f"izzyviz.{module.name}")
        assert module.name not in izzyviz.__all__, module.name
    for name in izzyviz.__all__:
        value = getattr(izzyviz, name)
        assert not isinstance(value, type(izzyviz)), name
    assert callable(izzyviz.aggregate) and callable(izzyviz.overview)


def test_seed_names_are_importable_from_both_places() -> None:
    from izzyviz import visualization

    for name in (
        "visualize_attention_encoder_only",
        "visualize_attention_decoder_only",
        "visualize_attention_encoder_decoder",
        "compare_two_attentions_with_circles",
        "check_stability_heatmap_with_gradient_color",
        "visualize_attention_evolution_sparklines",
        "visualize_attention_with_detected_regions",
    ):
        assert getattr(visualization, name) is getattr(izzyviz, name)

"""What the records compare with what: ids named in capabilities' vs_alternatives, both ways."""

from __future__ import annotations

from unfragile.engine.compared_with import compared_with


def test_ids_named_in_vs_alternatives_are_compared_both_ways():
    caps = [
        {"artifact": "poe", "vs_alternatives": "Perplexity offers fewer models; chatgpt too."},
        {"artifact": "poe", "vs_alternatives": "Unlike claude-ai, and unlike poe itself."},
        {"artifact": "flux-1.1-pro", "vs_alternatives": "Sharper than stable-diffusion-3.5."},
        {"artifact": "chatgpt", "vs_alternatives": None},
        {"artifact": "gone", "vs_alternatives": "chatgpt"},  # not in the catalog: ignored
    ]
    ids = {"poe", "perplexity", "chatgpt", "claude-ai", "flux-1.1-pro", "stable-diffusion-3.5"}
    got = compared_with(caps, ids)
    assert got["poe"] == {"perplexity", "chatgpt", "claude-ai"}  # not itself
    assert got["chatgpt"] == {"poe"} and got["perplexity"] == {"poe"}
    assert got["flux-1.1-pro"] == {"stable-diffusion-3.5"}  # ids with dots and dashes
    assert got["stable-diffusion-3.5"] == {"flux-1.1-pro"}
    assert "gone" not in got and "unknown" not in got

"""`layerlift models plan`: FLUX.1-Fill-dev counted on the meta device from its configuration."""

from __future__ import annotations

import contextlib
import io
import json

import pytest
import torch

from layerlift.inference.engines.flux import configs, memory, models, plan
from layerlift.inference.engines.flux.engine import DEFAULT_STEPS

GIB = 2**30


def hand_count(layers: int, single: int, d: int, n: int, t: int) -> tuple[int, int]:
    """(linear, attention) FLOPs of one FLUX Fill forward, written out layer by layer.

    Every token passes 12 d^2 multiply-adds per block (double: its own stream's qkv 3, out 1,
    MLP 8; single: qkv 3, MLP in 4, out 5); the modulation linears (6 d^2 per stream of a
    double block, 3 d^2 per single block) act once on the conditioning vector, not per token.
    """
    per_token = 2 * (n + t) * 12 * d * d * (layers + single)
    modulation = 2 * 6 * d * d * 2 * layers + 2 * 3 * d * d * single + 2 * 2 * d * d
    embedders = (2 * (256 * d + d * d) * 2 + 2 * (768 * d + d * d)   # time, guidance, pooled
                 + 2 * t * 4096 * d + 2 * n * 384 * d + 2 * n * d * 64)
    attention = 4 * (n + t) ** 2 * d * (layers + single)
    return per_token + modulation + embedders, attention


def test_step_count_is_the_hand_count_on_a_reduced_model():
    transformer = configs.build_transformer("meta", torch.bfloat16, num_layers=1,
                                            num_single_layers=1, num_attention_heads=2)
    step = plan.count_step(transformer, 64)
    linear, attention = hand_count(1, 1, 256, plan.image_tokens(64), 512)
    assert step.by_op == {"aten.addmm": linear,
                          "aten._scaled_dot_product_flash_attention": attention}
    assert step.flops == linear + attention
    assert 0 < step.peak_bytes < 64 * 2**20


def test_fused_attention_counts_the_same_flops_without_the_scores():
    from torch.utils.flop_counter import FlopCounterMode

    q = torch.empty(1, 4, 1024, 64, device="meta")
    attend = lambda: torch.nn.functional.scaled_dot_product_attention(q, q, q)  # noqa: E731
    math_flops, math_live = FlopCounterMode(display=False), plan._live_bytes_mode()
    with math_flops, math_live:
        attend()
    fused = plan.count(attend)
    assert fused.flops == math_flops.get_total_flops() == 4 * 4 * 1024 * 1024 * 64
    assert math_live.peak >= 4 * 1024 * 1024 * 4          # the N x N scores, float32
    output = 4 * 1024 * 64 * 4
    assert output < fused.peak_bytes < 1.1 * output        # output, log-sum-exp (+ a few bytes)


def test_live_bytes_follow_frees_and_views():
    def run():
        a = torch.empty(1000, 1000, device="meta")         # 4 MB
        b = (a * 2).view(-1)                                # +4 MB, a view of it: nothing
        del a
        return b + 1                                        # +4 MB while b lives: peak 8 MB

    assert plan.count(run).peak_bytes == 8_000_000


@pytest.fixture(scope="module")
def plan_json() -> dict:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert models.main(["plan", "--size", "512", "--json"]) == 0
    return json.loads(out.getvalue())        # exactly one JSON object, nothing else


def test_plan_json_for_the_real_model(plan_json):
    p = plan_json
    assert p["parameters"] == 11_902_391_360
    assert p["tflop_per_step"] == pytest.approx(55.29, abs=0.01)
    linear, attention = hand_count(19, 38, 3072, 3072, 512)
    assert p["flops"]["step"] == linear + attention
    assert (p["image_tokens"], p["text_tokens"]) == (3072, 512)
    assert p["components"]["text_encoder_2"]["parameters"] == 4_762_310_656
    assert p["components"]["vae"]["parameters"] == 83_819_683
    assert set(p["tiers"]) == set(memory.TIERS) and len(p["tiers"]) >= 4
    tiers = p["tiers"]
    assert tiers["gpu"]["transformer_bytes"] == 2 * p["parameters"]
    assert tiers["nf4"]["weight_bytes"] < tiers["fp8"]["weight_bytes"] \
        < tiers["gpu"]["weight_bytes"]
    assert tiers["group"]["weight_bytes"] < 1 * GIB < tiers["group"]["host_bytes"]
    assert all(t["peak_bytes"] > t["weight_bytes"] and t["fits"] for t in tiers.values())
    assert p["ideal_step_s"] == pytest.approx(p["tflop_per_step"] / 989.0)
    assert p["steps"] == plan.DEFAULT_STEPS == DEFAULT_STEPS
    assert p["ideal_image_s"] > 28 * p["ideal_step_s"]
    assert not p["gpus"]["4090"]["fits"]["gpu"] and p["gpus"]["4090"]["fits"]["fp8"]


def test_plan_text_lists_every_tier_and_card(plan_json):
    text = plan.format_plan(plan_json)
    assert "55.29 TFLOP per step" in text and "3072 image + 512 text tokens" in text
    for name in memory.TIERS:
        assert f"\n{name} " in text
    for card in plan.GPUS.values():
        assert card.label in text


def test_plan_refuses_a_size_not_a_multiple_of_16(capsys):
    with pytest.raises(SystemExit) as exit_info:
        models.main(["plan", "--size", "500"])
    assert exit_info.value.code == 2
    assert "multiple of 16" in capsys.readouterr().err

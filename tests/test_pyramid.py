import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from singan.errors import InputImageError
from singan.config.singan import TrainConfig
from singan.pyramid import build_pyramid, plan_for, plan_pyramid, resize, scaled_sizes

BALLOONS_SIZES = [(25, 34), (33, 43), (42, 56), (54, 71), (69, 91), (88, 117), (113, 151), (145, 193), (186, 248)]


def test_balloons_gives_the_reference_sizes():
    plan = plan_pyramid(186, 248)
    assert list(plan.sizes) == BALLOONS_SIZES
    assert plan.scale_factor == pytest.approx(0.778, abs=5e-4)
    assert not plan.shrunk


def test_large_image_is_shrunk_to_max_size_first():
    plan = plan_pyramid(3000, 4000)
    assert plan.shrunk
    assert plan.finest == (188, 250)
    assert plan.sizes[0] == (25, 34)
    assert plan.num_scales == 9


def test_custom_limits():
    plan = plan_pyramid(186, 248, min_size=25, max_size=128)
    assert plan.finest == (96, 128)
    assert min(plan.sizes[0]) == 25


@settings(max_examples=300, deadline=None)
@given(height=st.integers(25, 3000), width=st.integers(25, 3000),
       min_size=st.integers(11, 40), max_size=st.integers(40, 400),
       factor=st.floats(0.5, 0.9))
def test_plan_properties(height, width, min_size, max_size, factor):
    shrink = min(max_size / max(height, width), 1)
    shrunk_short = math.ceil(min(height, width) * shrink - 1e-6)
    if shrunk_short <= min_size:
        with pytest.raises(InputImageError, match="too small"):
            plan_pyramid(height, width, min_size, max_size, factor)
        return
    plan = plan_pyramid(height, width, min_size, max_size, factor)
    sizes = plan.sizes
    assert min(sizes[0]) == min_size, "the coarsest short side is exactly min_size"
    assert max(plan.finest) == min(max(height, width), max_size)
    assert min(plan.finest) == shrunk_short
    assert plan.num_scales >= 2
    for coarse, fine in zip(sizes, sizes[1:]):
        assert coarse[0] <= fine[0] and coarse[1] <= fine[1], "sizes grow towards the finest scale"
    # every scale is the finest one scaled by a power of the recomputed factor (rounded up)
    stop = plan.num_scales - 1
    for index, (h, w) in enumerate(sizes):
        ratio = plan.scale_factor ** (stop - index)
        assert h == math.ceil(plan.finest[0] * ratio - 1e-6)
        assert w == math.ceil(plan.finest[1] * ratio - 1e-6)
    assert 0 < plan.scale_factor <= 1


def test_the_number_of_scales_follows_the_original_rule():
    # num = ceil(log(25/186)/log(.75)) + 1 = 8, skip = 0: 9 scales
    assert plan_pyramid(186, 248).num_scales == 9
    # 500 x 375: num = 11, skip = ceil(log(250/500)/log(.75)) = 3: 9 scales
    assert plan_pyramid(375, 500).num_scales == 9


@pytest.mark.parametrize("size", [(20, 300), (10, 10), (24, 24), (25, 40), (100, 1001)])
def test_too_small_images_are_refused(size):
    with pytest.raises(InputImageError, match="too small"):
        plan_pyramid(*size)


def test_zero_dimension_is_refused():
    with pytest.raises(InputImageError, match="zero dimension"):
        plan_pyramid(0, 100)


def test_resize_and_build_pyramid_shapes_and_range():
    image = torch.rand(1, 3, 186, 248) * 2 - 1
    plan = plan_pyramid(186, 248)
    reals = build_pyramid(image, plan)
    assert [tuple(real.shape[-2:]) for real in reals] == BALLOONS_SIZES
    assert all(real.min() >= -1 and real.max() <= 1 for real in reals)
    assert torch.equal(reals[-1], image)
    assert resize(image, (40, 60)).shape == (1, 3, 40, 60)


def test_resize_antialiases_when_shrinking():
    # A one-pixel checkerboard averages to grey when shrunk with antialiasing; without it, it aliases.
    board = (torch.arange(64)[:, None] + torch.arange(64)[None, :]) % 2 * 2.0 - 1
    small = resize(board[None, None], (8, 8))
    assert small.abs().max() < 0.1


def test_scaled_sizes():
    assert scaled_sizes([(10, 20), (20, 40)], 1.5, 0.5) == [(15, 10), (30, 20)]


def test_an_exact_factor_is_kept_and_the_coarsest_side_is_at_least_min_size():
    plan = plan_pyramid(186, 248, min_size=25, max_size=250, scale_factor=0.75, exact_factor=True)
    assert plan.scale_factor == 0.75
    # 186 * 0.75 ** 6 = 33.1 >= 25 and 186 * 0.75 ** 7 = 24.8 < 25: six steps
    assert plan.num_scales == 7 and plan.sizes[0] == (34, 45) and plan.finest == (186, 248)
    with pytest.raises(InputImageError, match="at least 34 px"):
        plan_pyramid(30, 60, min_size=25, scale_factor=0.75, exact_factor=True)


def test_the_uncropped_scales_can_be_spaced_more_densely():
    config = TrainConfig(scale_factor=0.55, crop_size=80)
    sparse = plan_for(186, 248, config)
    dense = plan_for(186, 248, config.replace(uncropped_scale_factor=0.75))
    assert sparse.sizes == ((25, 34), (38, 50), (56, 75), (84, 112), (125, 167), (186, 248))
    # the same cropped scales; from the largest uncropped one (56x75) down to 25 px in steps of about 0.75
    assert dense.sizes == ((25, 34), (33, 44), (43, 58), (56, 75), (84, 112), (125, 167), (186, 248))
    assert dense.scale_factor == sparse.scale_factor
    # with no scale cropped the whole pyramid is re-spaced: at 64 px it is the paper's
    whole = plan_for(186, 248, config.replace(max_size=64, uncropped_scale_factor=0.75))
    assert whole.sizes == plan_for(186, 248, TrainConfig(max_size=64)).sizes
    assert whole.scale_factor == pytest.approx((25 / 48) ** (1 / 3))


@settings(max_examples=200, deadline=None)
@given(height=st.integers(30, 2000), width=st.integers(30, 2000), max_size=st.integers(40, 400),
       factor=st.floats(0.5, 0.9), dense=st.floats(0.5, 0.95), crop=st.integers(11, 200))
def test_denser_uncropped_scales_only_add_scales_below_the_crop(height, width, max_size, factor, dense, crop):
    config = TrainConfig(max_size=max_size, scale_factor=factor, crop_size=crop)
    try:
        plan = plan_for(height, width, config)
    except InputImageError:
        return
    denser = plan_for(height, width, config.replace(uncropped_scale_factor=dense))
    cropped = [size for size in plan.sizes if config.crops(size)]
    assert [size for size in denser.sizes if config.crops(size)] == cropped
    assert denser.num_scales >= plan.num_scales
    assert denser.finest == plan.finest and min(denser.sizes[0]) == min(plan.sizes[0])
    for coarse, fine in zip(denser.sizes, denser.sizes[1:]):
        assert coarse[0] <= fine[0] and coarse[1] <= fine[1]
    # the largest uncropped scale and every cropped one are kept as they were
    kept = plan.sizes[max(plan.num_scales - len(cropped) - 1, 0):]
    assert denser.sizes[-len(kept):] == kept

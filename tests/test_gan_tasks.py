"""Tasks on a multi-image generator: seeds to images, interpolation videos, style mixing, evaluation.

The tasks only need the Generator interface, so most tests use a stand-in: a linear mapping, the same w
for every style layer, and a linear synthesis of all layers' styles plus noise from the torch.Generator.
"""

import json
import math

import imageio.v3 as iio
import pytest
import torch
from torch import nn

from singan import images as image_files
from singan.api.gan import generate_images, interpolate_video, mix_images
from singan.config.gan import GANConfig
from singan.errors import ConfigError, InputImageError
from singan.runs.common import write_evaluation
from tasks.gan.evaluate import evaluate_generator
from tasks.gan.generate import generated_images, latent
from tasks.gan.interpolate import (
    default_space,
    interpolation_frames,
    lerp,
    loop_positions,
    slerp,
)
from tasks.gan.mix import mixing_rows, parse_layers

RESOLUTION = 16


class StandInGenerator(nn.Module):
    """The Generator interface in miniature; `style=False` behaves as pggan (one style, no average w)."""

    def __init__(self, style: bool = True, num_ws: int = 6, z_dim: int = 8, image_channels: int = 3,
                 noise_strength: float = 0.05):
        super().__init__()
        random = torch.Generator().manual_seed(0)
        self.resolution, self.image_channels, self.z_dim, self.w_dim = RESOLUTION, image_channels, z_dim, z_dim
        self.num_ws = num_ws if style else 1
        self.noise_strength = noise_strength
        self.mapping = nn.Parameter(torch.randn(z_dim, z_dim, generator=random) / math.sqrt(z_dim))
        pixels = image_channels * RESOLUTION**2
        self.synthesis = nn.Parameter(torch.randn(self.num_ws * z_dim, pixels, generator=random) / z_dim)
        if style:
            self.register_buffer("w_avg", 0.1 * torch.randn(z_dim, generator=random))
        else:
            self.w_avg = None

    def map(self, z, truncation=1.0, truncation_cutoff=None):
        if self.w_avg is None:
            if truncation != 1:
                raise ConfigError("--trunc: no w_avg")
            w = z * torch.rsqrt(z.pow(2).mean(dim=1, keepdim=True) + 1e-8)
        else:
            w = z @ self.mapping
        ws = w[:, None].repeat(1, self.num_ws, 1)
        if truncation != 1:
            cutoff = self.num_ws if truncation_cutoff is None else truncation_cutoff
            ws[:, :cutoff] = self.w_avg + truncation * (ws[:, :cutoff] - self.w_avg)
        return ws

    def synthesize(self, ws, *, resolution=None, alpha=1.0, generator=None):
        images = (ws.flatten(1) @ self.synthesis).view(-1, self.image_channels, RESOLUTION, RESOLUTION)
        noise = torch.randn(images.shape[0], 1, RESOLUTION, RESOLUTION, generator=generator, device=images.device)
        return images + self.noise_strength * noise


@pytest.fixture(scope="module")
def style_generator():
    return StandInGenerator()


@pytest.fixture(scope="module")
def pggan_like():
    return StandInGenerator(style=False)


def images_of(generator, seeds, **options):
    return torch.cat([image for _, image in generated_images(generator, seeds, **options)])


# Seeds to images

def test_a_seed_names_one_latent():
    assert latent(7, 8, "cpu").shape == (1, 8)
    assert torch.equal(latent(7, 8, "cpu"), latent(7, 8, torch.device("cpu")))
    assert not torch.equal(latent(7, 8, "cpu"), latent(8, 8, "cpu"))


def test_one_png_per_seed_and_a_near_square_grid(style_generator, tmp_path):
    written = generate_images(style_generator, [0, 7, 12], tmp_path, grid=True)
    assert [path.name for path in written] == ["seed0000.png", "seed0007.png", "seed0012.png", "grid.png"]
    assert iio.imread(written[1]).shape == (RESOLUTION, RESOLUTION, 3)
    side = 2 * RESOLUTION + 2  # 2 x 2 cells with a 2 px gutter
    grid = iio.imread(written[-1])
    assert grid.shape == (side, side, 3)
    assert (grid[RESOLUTION:RESOLUTION + 2] == 255).all() and (grid[-RESOLUTION:, -RESOLUTION:] == 255).all()


def test_a_seed_gives_the_same_file_whatever_the_other_seeds(style_generator, tmp_path):
    first = generate_images(style_generator, [3, 7], tmp_path / "first")
    second = generate_images(style_generator, [7, 5, 3], tmp_path / "second")
    assert first[1].read_bytes() == second[0].read_bytes()
    assert first[0].read_bytes() == second[2].read_bytes()
    assert first[0].read_bytes() != first[1].read_bytes()


def test_truncation_zero_gives_the_average_image(style_generator):
    average = images_of(style_generator, [1, 2, 3], truncation=0.0, noise_seed=4)
    assert torch.equal(average[0], average[1]) and torch.equal(average[0], average[2])
    assert not torch.equal(*images_of(style_generator, [1, 2], truncation=0.5, noise_seed=4))
    cut = images_of(style_generator, [1, 2], truncation=0.0, truncation_cutoff=3, noise_seed=4)
    assert not torch.equal(cut[0], cut[1]), "layers from the cutoff on keep their own styles"


def test_the_noise_seed_fixes_the_noise_inputs(style_generator):
    same_noise = images_of(style_generator, [1, 1], noise_seed=0)
    own_noise = images_of(style_generator, [1])
    assert torch.equal(same_noise[0], same_noise[1])
    assert not torch.equal(same_noise[0], own_noise[0])


def test_pggan_has_no_truncation(pggan_like, tmp_path):
    with pytest.raises(ConfigError, match="--trunc 0.7: .* no average w"):
        generate_images(pggan_like, [1], tmp_path, truncation=0.7)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("seeds, options, message", [
    ([1], {"truncation": -0.5}, "--trunc must be"),
    ([1], {"truncation": 2.5}, "--trunc must be"),
    ([1], {"truncation": math.nan}, "--trunc must be"),
    ([1], {"truncation": 0.5, "truncation_cutoff": 7}, "--trunc-cutoff"),
    ([], {}, "--seeds needs at least 1"),
    ([-1], {}, "--seeds"),
    ([1.5], {}, "--seeds"),
    ([1], {"noise_seed": -2}, "--noise-seed"),
])
def test_bad_generation_options(style_generator, tmp_path, seeds, options, message):
    with pytest.raises(ConfigError, match=message):
        generate_images(style_generator, seeds, tmp_path, **options)


# Interpolation

def test_slerp_endpoints_unit_norm_and_angle():
    first, second = torch.tensor([1.0, 0.0, 0.0]), torch.tensor([0.0, 1.0, 0.0])
    assert torch.equal(slerp(first, second, 0.0), first) and torch.equal(slerp(first, second, 1.0), second)
    for t in (0.1, 0.5, 0.9):
        assert slerp(first, second, t).norm().item() == pytest.approx(1.0, abs=1e-6)
    halfway = torch.tensor([1.0, 1.0, 0.0]) / math.sqrt(2)
    torch.testing.assert_close(slerp(first, second, 0.5), halfway)
    third = slerp(first, second, 1 / 3)
    torch.testing.assert_close(third, torch.tensor([math.cos(math.pi / 6), math.sin(math.pi / 6), 0.0]))


def test_slerp_of_batches_and_parallel_vectors():
    vector = torch.tensor([[0.6, 0.8]])
    torch.testing.assert_close(slerp(vector, 3 * vector, 0.5), 2 * vector)
    opposite = slerp(vector, -vector, 0.25)
    assert torch.isfinite(opposite).all()
    torch.testing.assert_close(opposite, lerp(vector, -vector, 0.25))
    batch = torch.randn(5, 8, generator=torch.Generator().manual_seed(0))
    other = torch.randn(5, 8, generator=torch.Generator().manual_seed(1))
    middle = slerp(batch, other, 0.5)
    torch.testing.assert_close(middle[2:3], slerp(batch[2:3], other[2:3], 0.5))


def test_loop_positions_split_the_loop_evenly():
    assert loop_positions(3, 6) == [(0, 0.0), (0, 0.5), (1, 0.0), (1, 0.5), (2, 0.0), (2, 0.5)]
    assert loop_positions(2, 2) == [(0, 0.0), (1, 0.0)]
    positions = [segment + t for segment, t in loop_positions(3, 7)]
    steps = [after - before for before, after in zip(positions, positions[1:] + [3.0])]
    assert steps == pytest.approx([3 / 7] * 7)


@pytest.mark.parametrize("space", ["w", "z"])
def test_interpolation_passes_the_seeds_and_closes_the_loop(style_generator, space):
    seeds = [1, 2, 3]
    frames = interpolation_frames(style_generator, seeds, 9, space=space, noise_seed=5)
    assert len(frames) == 9 and frames[0].shape == (1, 3, RESOLUTION, RESOLUTION)
    anchors = images_of(style_generator, seeds, noise_seed=5)
    for index, anchor in zip((0, 3, 6), anchors):
        torch.testing.assert_close(frames[index][0], anchor)
    steps = [(after - before).norm().item() for before, after in zip(frames, frames[1:] + frames[:1])]
    assert steps[-1] == pytest.approx(steps[-2], rel=0.2), "the last frame leads back to the first"


def test_interpolation_is_linear_in_w_with_fixed_noise(style_generator):
    frames = interpolation_frames(style_generator, [4, 9], 8, space="w", noise_seed=0)
    # The stand-in's synthesis is linear, so equal steps in w are equal steps in the image.
    steps = [after - before for before, after in zip(frames, frames[1:] + frames[:1])]
    for step in steps[1:4]:
        torch.testing.assert_close(step, steps[0], atol=1e-5, rtol=0)
    torch.testing.assert_close(steps[4], -steps[0], atol=1e-5, rtol=0)


def test_default_space_is_w_for_style_generators_and_z_for_pggan(style_generator, pggan_like):
    assert default_space(style_generator) == "w" and default_space(pggan_like) == "z"
    assert len(interpolation_frames(pggan_like, [0, 1], 4)) == 4


def test_interpolation_video_files(style_generator, tmp_path, monkeypatch):
    written = interpolate_video(style_generator, [1, 2], tmp_path, frames=6, fps=10, mp4=False)
    assert [path.name for path in written] == ["interpolate.gif"]
    assert iio.imread(written[0]).shape == (6, RESOLUTION, RESOLUTION, 3)
    monkeypatch.setattr(image_files, "video_available", lambda: False)
    assert len(interpolate_video(style_generator, [1, 2], tmp_path, frames=2)) == 1
    with pytest.raises(ConfigError, match='pip install "singan\\[video\\]"'):
        interpolate_video(style_generator, [1, 2], tmp_path / "other", frames=2, mp4=True)


def test_interpolation_video_writes_an_mp4_when_it_can(style_generator, tmp_path):
    if not image_files.video_available():
        pytest.skip("imageio-ffmpeg is not installed")
    written = interpolate_video(style_generator, [1, 2], tmp_path, frames=4)
    assert [path.name for path in written] == ["interpolate.gif", "interpolate.mp4"]


@pytest.mark.parametrize("seeds, options, message", [
    ([1], {}, "--seeds needs at least 2"),
    ([1, 2, 3], {"frames": 2}, "--frames"),
    ([1, 2], {"frames": 20_000}, "--frames"),
    ([1, 2], {"space": "x"}, "--space"),
    ([1, 2], {"fps": 0}, "--fps"),
    ([1, 2], {"truncation": 3.0}, "--trunc"),
])
def test_bad_interpolation_options(style_generator, tmp_path, seeds, options, message):
    with pytest.raises(ConfigError, match=message):
        interpolate_video(style_generator, seeds, tmp_path, **{"frames": 4, **options})
    assert not list(tmp_path.iterdir())


# Style mixing

@pytest.mark.parametrize("text, num_ws, layers", [
    ("0-3", 6, [0, 1, 2, 3]), ("coarse", 6, [0, 1, 2, 3]), ("middle", 6, [4, 5]), ("fine", 12, [8, 9, 10, 11]),
    ("1, 3-4", 6, [1, 3, 4]), ("Coarse,5", 6, [0, 1, 2, 3, 5]), ("coarse", 2, [0, 1]), ("fine", 18, list(range(8, 18))),
])
def test_parse_layers(text, num_ws, layers):
    assert parse_layers(text, num_ws) == layers


@pytest.mark.parametrize("text, message", [
    ("fine", "none of the fine ones"), ("6", "the layers are 0 to 5"), ("3-1", "the layers are 0 to 5"),
    ("", "expected a layer"), ("x", "expected a layer"), ("-1", "expected a layer"),
])
def test_bad_layers(text, message):
    with pytest.raises(ConfigError, match=message):
        parse_layers(text, 6)


def test_mixing_grid_file_and_record(style_generator, tmp_path):
    path = mix_images(style_generator, [1, 2, 3], [4, 5], "coarse", tmp_path)
    assert path == tmp_path / "mix.png"
    grid = iio.imread(path)
    assert grid.shape == (4 * RESOLUTION + 6, 3 * RESOLUTION + 4, 3)
    assert (grid[:RESOLUTION, :RESOLUTION] == 255).all(), "the top-left corner is blank"
    record = json.loads((tmp_path / "mix.json").read_text())
    assert record["row_seeds"] == [1, 2, 3] and record["column_seeds"] == [4, 5]
    assert record["layers"] == [0, 1, 2, 3]


def test_a_cell_is_the_row_image_with_the_columns_layers(style_generator):
    nothing = mixing_rows(style_generator, [1, 2], [3], [])
    everything = mixing_rows(style_generator, [1, 2], [3], list(range(style_generator.num_ws)))
    some = mixing_rows(style_generator, [1, 2], [3], [0, 1])
    assert nothing[0][0] is None and len(nothing) == 3 and len(nothing[1]) == 2
    for row in (1, 2):
        assert torch.equal(nothing[row][1], nothing[row][0]), "no layers replaced: the row seed's image"
        assert torch.equal(everything[row][1], everything[0][1]), "all layers replaced: the column seed's image"
        assert not torch.equal(some[row][1], some[row][0]) and not torch.equal(some[row][1], some[0][1])


def test_mixing_needs_style_layers_and_good_seeds(style_generator, pggan_like, tmp_path):
    with pytest.raises(ConfigError, match="style mixing needs a style-based architecture"):
        mix_images(pggan_like, [1], [2], "coarse", tmp_path)
    with pytest.raises(ConfigError, match="--columns"):
        mix_images(style_generator, [1], [], "coarse", tmp_path)
    with pytest.raises(ConfigError, match="--layers"):
        mix_images(style_generator, [1], [2], [9], tmp_path)
    assert not list(tmp_path.iterdir())


# Evaluation

class StandInFeatures(nn.Module):
    """Something with InceptionV3's pool_features: a few pooled statistics per image."""

    def pool_features(self, images):
        images = images.expand(-1, 3, -1, -1)
        return torch.cat([images.mean(dim=(2, 3)), images.std(dim=(2, 3)), images.abs().amax(dim=(2, 3))], dim=1)


@pytest.fixture(scope="module")
def reals():
    generator = torch.Generator().manual_seed(0)
    return torch.randint(0, 256, (12, 3, RESOLUTION, RESOLUTION), generator=generator, dtype=torch.uint8)


def test_evaluation_figures_and_file(style_generator, reals, tmp_path):
    evaluation = evaluate_generator(style_generator, reals, num=8, inception=StandInFeatures(), batch_size=3)
    assert evaluation.num_generated == 8 and evaluation.num_real == 12 and evaluation.swd_images == 6
    assert evaluation.swd.average > 0 and evaluation.swd.floor > 0
    assert evaluation.fid is not None and evaluation.fid > 0
    path = write_evaluation(tmp_path, evaluation.to_dict())
    assert path == tmp_path / "eval.json"
    record = json.loads(path.read_text())
    assert record["fid_computed"] and record["swd"]["levels"] == evaluation.swd.levels
    same = evaluate_generator(style_generator, reals, num=8, inception=StandInFeatures(), batch_size=3)
    assert same == evaluation


def test_evaluation_defaults_and_no_fid_without_a_network(pggan_like, reals):
    evaluation = evaluate_generator(pggan_like, reals.float() / 127.5 - 1)
    assert evaluation.num_generated == 12 and evaluation.swd_images == 6 and evaluation.fid is None
    assert evaluation.to_dict()["fid"] is None


@pytest.mark.parametrize("shape, options, error, message", [
    ((12, 1, RESOLUTION, RESOLUTION), {}, InputImageError, "3 channel"),
    ((12, 3, 8, 8), {}, InputImageError, "at 16 px"),
    ((1, 3, RESOLUTION, RESOLUTION), {}, InputImageError, "at least 2 real"),
    ((12, 3, RESOLUTION, RESOLUTION), {"num": 1}, ConfigError, "--num"),
    ((12, 3, RESOLUTION, RESOLUTION), {"truncation": 0.5, "pggan": True}, ConfigError, "--trunc"),
])
def test_bad_evaluations(style_generator, pggan_like, shape, options, error, message):
    generator = pggan_like if options.pop("pggan", False) else style_generator
    with pytest.raises(error, match=message):
        evaluate_generator(generator, torch.zeros(shape), **options)


# The real models, where they exist

@pytest.mark.parametrize("arch", ["pggan", "stylegan", "stylegan2"])
def test_the_tasks_run_on_the_real_generators(arch, tmp_path):
    pytest.importorskip(f"singan.models.{arch}")
    from singan.training.architectures import build_generator

    config = GANConfig(arch=arch, resolution=RESOLUTION, z_dim=16, w_dim=16, mapping_layers=2,
                       channel_base=128, channel_max=16)
    torch.manual_seed(0)
    generator = build_generator(config).eval()
    written = generate_images(generator, [1, 2], tmp_path / "generated", grid=True)
    again = generate_images(generator, [2], tmp_path / "again")
    assert written[1].read_bytes() == again[0].read_bytes()
    assert len(interpolation_frames(generator, [1, 2], 4)) == 4
    if arch != "pggan":
        assert mix_images(generator, [1], [2], "coarse", tmp_path / "mix").exists()
    reals = torch.randint(0, 256, (6, 3, RESOLUTION, RESOLUTION), dtype=torch.uint8)
    assert evaluate_generator(generator, reals, num=4).swd_images == 3

"""Animation: the random walk around the reconstruction noise, its files, and the noise-padding model."""

import imageio.v3 as iio
import pytest
import torch

from singan import api
from singan.errors import ConfigError
from singan.events import Notice
from singan.models.singan import PADDING
from tasks.singan.animate import animation_frames, random_walk
from tasks.singan.sample import sample_images


def frames_of(run, **options):
    return torch.cat(list(animation_frames(run.model, **options)))


def walk(seed=0, frames=60, loop=False, alpha=0.1, beta=0.9):
    rng = torch.Generator().manual_seed(seed)
    anchor = torch.randn(1, 1, 8, 8, generator=rng)
    return anchor, random_walk(anchor, lambda: torch.randn(1, 1, 8, 8, generator=rng), frames, alpha, beta, loop)


def test_the_walk_follows_the_papers_recurrence():
    alpha, beta = 0.1, 0.9
    rng = torch.Generator().manual_seed(3)
    draws = [torch.randn(1, 1, 4, 4, generator=rng) for _ in range(4)]
    anchor = torch.zeros(1, 1, 4, 4)
    path = random_walk(anchor, iter(draws).__next__, 3, alpha, beta, loop=False)
    before, current = anchor, 0.05 * draws[0]
    for index in range(3):
        step = beta * (current - before) + (1 - beta) * draws[index + 1]
        before, current = current, alpha * anchor + (1 - alpha) * (current + step)
        assert torch.allclose(path[index], current)


def test_a_looping_walk_returns_to_its_start():
    _, path = walk(loop=True)
    steps = torch.stack([(after - before).norm() for before, after in zip(path, path[1:])])
    closing = (path[0] - path[-1]).norm()
    assert len(path) == 60
    assert closing < 2 * steps.mean(), "the last frame leads back to the first like any other step"
    _, open_path = walk(loop=False)
    assert (open_path[0] - open_path[-1]).norm() > 2 * steps.mean()


def test_frames_are_images_of_the_run_and_follow_the_seed(loaded_run):
    frames = frames_of(loaded_run, frames=12, start_scale=1, seed=2)
    assert frames.shape == (12, 3, *loaded_run.model.sizes[-1])
    assert frames.min() >= -1 and frames.max() <= 1
    assert torch.equal(frames, frames_of(loaded_run, frames=12, start_scale=1, seed=2))
    assert not torch.equal(frames, frames_of(loaded_run, frames=12, start_scale=1, seed=3))


def test_consecutive_frames_differ_by_less_than_distant_ones(loaded_run):
    frames = frames_of(loaded_run, frames=40, start_scale=0, seed=1)
    near = torch.stack([(frames[index + 1] - frames[index]).abs().mean() for index in range(39)])
    far = torch.stack([(frames[index + 15] - frames[index]).abs().mean() for index in range(25)])
    assert (near > 0).all(), "every frame moves"
    assert near.mean() < 0.75 * far.mean()


def test_the_batch_size_does_not_change_the_frames(loaded_run):
    one = frames_of(loaded_run, frames=6, seed=4, batch_size=1)
    three = frames_of(loaded_run, frames=6, seed=4, batch_size=3)
    assert torch.allclose(one, three, atol=1e-5)


@pytest.mark.parametrize("options, fragment", [
    ({"frames": 1}, "--frames"), ({"alpha": 1.5}, "--alpha"), ({"beta": 1.0}, "--beta"), ({"fps": 0}, "--fps"),
    ({"start_scale": 4}, "use 0 to 3"),
])
def test_bad_animation_options(loaded_run, tmp_path, options, fragment):
    with pytest.raises(ConfigError, match=fragment):
        api.animate_run(loaded_run, out=tmp_path / "animation", **options)
    assert not (tmp_path / "animation").exists()


def test_animate_writes_a_gif_with_every_frame(loaded_run, tmp_path):
    events = []
    paths = api.animate_run(loaded_run, frames=7, fps=10, loop=True, mp4=False, out=tmp_path, on_event=events.append)
    assert [path.name for path in paths] == ["start2_beta0.90_loop.gif"]
    frames = iio.imread(paths[0], index=None)
    assert frames.shape[0] == 7 and frames.shape[1:3] == loaded_run.model.sizes[-1]
    assert iio.immeta(paths[0], index=0)["duration"] == 100  # milliseconds per frame at 10 fps
    assert any(isinstance(event, Notice) and "--noise-padding" in event.message for event in events)


def test_animate_writes_an_mp4_when_imageio_ffmpeg_is_installed(loaded_run, tmp_path):
    pytest.importorskip("imageio_ffmpeg")
    paths = api.animate_run(loaded_run, frames=5, out=tmp_path)
    assert [path.suffix for path in paths] == [".gif", ".mp4"]
    video = iio.imread(paths[1], plugin="FFMPEG")
    height, width = loaded_run.model.sizes[-1]
    assert video.shape[0] == 5 and video.shape[1:3] == (height + height % 2, width + width % 2)


def test_asking_for_an_mp4_without_imageio_ffmpeg_is_an_error(loaded_run, tmp_path, monkeypatch):
    monkeypatch.setattr("singan.images.video_available", lambda: False)
    with pytest.raises(ConfigError, match='pip install "singan\\[video\\]"'):
        api.animate_run(loaded_run, frames=3, mp4=True, out=tmp_path / "animation")
    assert not (tmp_path / "animation").exists()
    assert [path.suffix for path in api.animate_run(loaded_run, frames=3, out=tmp_path)] == [".gif"]


def test_noise_padding_draws_noise_over_the_generators_border(padded_run, tmp_path):
    run = api.load_run(padded_run, device="cpu")
    height, width = run.model.sizes[0]
    assert run.record.train_config.noise_padding
    assert run.model.reconstruction_noise.shape == (1, 1, height + 2 * PADDING, width + 2 * PADDING)
    (_, image), = sample_images(run.model, [0])
    assert image.shape == (1, 3, *run.model.sizes[-1])
    events = []
    api.animate_run(run, frames=3, mp4=False, out=tmp_path / "animation", on_event=events.append)
    assert not events, "no advice for a run trained the way the paper animates"

"""Style mixing (StyleGAN, figure 3): the styles of some layers taken from another seed.

Source A, the row seeds, give each row its image (the left column); source B, the column seeds, give the
top row. Cell (r, c) is row seed r's styles with the chosen layers replaced by column seed c's: the
coarse layers carry pose and shape, the middle ones features, the fine ones colours and micro-structure.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from singan.errors import ConfigError
from singan.images import image_grid
from singan.ranges import RangeRule, parse_ranges
from singan.seeds import check_seeds
from tasks.gan.draws import Draws
from tasks.gan.generate import check_images_fit, check_truncation, render, styles

# Style layers come in pairs, one pair per resolution from 4 px up (StyleGAN): the paper's named groups.
LAYER_GROUPS = {"coarse": (0, 4), "middle": (4, 8), "fine": (8, None)}  # 4-8 px, 16-32 px, 64 px and up


def parse_layers(text: str, num_ws: int) -> list[int]:
    """Layer indices from '0-3', '5', 'coarse', 'middle', 'fine', or several of them separated by commas.

    The named groups are clipped to the generator's `num_ws` layers; numbers must lie within them.
    """
    layers = set()
    for part in (piece.strip().lower() for piece in str(text).split(",")):
        chosen = _group(part, num_ws) if part in LAYER_GROUPS else _numbers(part, num_ws)
        if not chosen:
            raise ConfigError(f"--layers {part}: this generator's {num_ws} style layers (0-{num_ws - 1}) "
                              f"have none of the {part} ones")
        layers.update(chosen)
    return sorted(layers)


def _group(name: str, num_ws: int) -> list[int]:
    start, stop = LAYER_GROUPS[name]
    return list(range(start, num_ws if stop is None else min(stop, num_ws)))


def _numbers(part: str, num_ws: int) -> list[int]:
    within = f"the layers are 0 to {num_ws - 1} (a range runs low-high)"
    return parse_ranges(part, RangeRule("--layers", "expected a layer, a range like 0-3, or coarse, middle, fine",
                                        limit=num_ws, beyond=within, backwards=within))


def replace_layers(target: torch.Tensor, source: torch.Tensor, layers: Sequence[int]) -> torch.Tensor:
    """Styles [N, num_ws, w_dim]: `target`'s, with the given layers taken from `source`."""
    chosen = torch.zeros(target.shape[1], dtype=torch.bool, device=target.device)
    chosen[list(layers)] = True
    return torch.where(chosen[None, :, None], source, target)


def check_mixing(generator: nn.Module, row_seeds: Sequence[int], column_seeds: Sequence[int],
                 truncation: float) -> None:
    if generator.num_ws < 2:
        raise ConfigError("style mixing needs a style-based architecture (stylegan, stylegan2)")
    check_seeds(row_seeds, "--rows")
    check_seeds(column_seeds, "--columns")
    check_truncation(generator, truncation)
    # The cells are kept, then joined into one batch, then tiled into the grid: three copies at once.
    cells = (len(row_seeds) + 1) * (len(column_seeds) + 1)
    check_images_fit(generator, cells, 3, f"a grid of {len(row_seeds)} x {len(column_seeds)} seeds at "
                     f"{generator.resolution} px", "give fewer --rows or --columns")


@torch.no_grad()
def mixing_rows(generator: nn.Module, row_seeds: Sequence[int], column_seeds: Sequence[int], layers: list[int],
                truncation: float = 1.0, noise_seed: int = 0,
                draws: Draws = Draws()) -> list[list[torch.Tensor | None]]:
    """The figure's cells, row by row: a blank corner and the column seeds' images, then per row seed its
    image followed by its mixes. Every image has the same noise inputs, so only the styles differ."""
    row_styles = [styles(generator, seed, truncation, draws=draws) for seed in row_seeds]
    column_styles = [styles(generator, seed, truncation, draws=draws) for seed in column_seeds]
    rows = [[None] + [render(generator, ws, noise_seed, draws) for ws in column_styles]]
    for ws in row_styles:
        mixes = [render(generator, replace_layers(ws, source, layers), noise_seed, draws) for source in column_styles]
        rows.append([render(generator, ws, noise_seed, draws)] + mixes)
    return rows


def style_mixing_grid(generator: nn.Module, row_seeds: Sequence[int], column_seeds: Sequence[int],
                      layers: str | Sequence[int], *, truncation: float = 1.0,
                      noise_seed: int = 0, draws: Draws = Draws()) -> tuple[torch.Tensor, dict]:
    """The figure of `mixing_rows` as one image [1, C, H, W], and what it shows (seeds, layers) as a record.

    `layers` (text for `parse_layers`, or indices) are the ones a cell takes from its column seed (source B);
    the rest come from its row seed (source A).
    """
    check_mixing(generator, row_seeds, column_seeds, truncation)
    check_seeds([noise_seed], "--noise-seed")
    draws.check(generator, list(row_seeds) + list(column_seeds) + [noise_seed])
    text = layers if isinstance(layers, str) else ",".join(str(layer) for layer in layers)
    chosen = parse_layers(text, generator.num_ws)
    rows = mixing_rows(generator, row_seeds, column_seeds, chosen, truncation, noise_seed, draws)
    rows[0][0] = torch.ones_like(rows[0][1])  # the blank corner: white, as the gutters
    grid = image_grid(torch.cat([image for row in rows for image in row]), columns=len(column_seeds) + 1)
    record = {"row_seeds": list(row_seeds), "column_seeds": list(column_seeds), "layers": chosen,
              "layers_from": "column seeds (source B); the other layers from the row seeds (source A)",
              "truncation": truncation, "noise_seed": noise_seed, "num_ws": generator.num_ws,
              "seed_compat": draws.seed_compat, "noise": draws.noise, "class": draws.label}
    return grid, record

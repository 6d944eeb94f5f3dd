"""Re-create the example inputs in Input/ from scikit-image's bundled data.

Run from the repository root: python Input/export_examples.py

Images/ holds training images; Paint/, Harmonization/ and Editing/ hold task inputs made here for
them: a painting for hubble.png, a naive paste on hubble.png with its mask, a rough edit of
gravel.png with its mask, and a quarter-size coffee.png to super-resolve.
"""

from pathlib import Path

import imageio.v3 as iio
import numpy as np
import skimage.data
from skimage.draw import ellipse
from skimage.filters import gaussian
from skimage.transform import resize

FOLDER = Path(__file__).parent

# name: (loader, crop rows, crop columns, output height, output width)
EXAMPLES = {
    "hubble": (skimage.data.hubble_deep_field, slice(100, 700), slice(150, 950), 186, 248),
    "rocket": (skimage.data.rocket, slice(None), slice(None), 167, 250),
    "coffee": (skimage.data.coffee, slice(None), slice(None), 167, 250),
    "gravel": (skimage.data.gravel, slice(0, 400), slice(0, 512), 195, 250),
}


def export(name: str) -> Path:
    loader, rows, columns, height, width = EXAMPLES[name]
    pixels = loader()[rows, columns]
    small = resize(pixels, (height, width), anti_aliasing=True)
    return write(FOLDER / "Images" / f"{name}.png", small)


def write(path: Path, unit: np.ndarray) -> Path:
    """Save an image with values in [0, 1] as 8-bit PNG."""
    path.parent.mkdir(parents=True, exist_ok=True)
    iio.imwrite(path, (np.clip(unit, 0, 1) * 255).round().astype(np.uint8))
    return path


def load(name: str) -> np.ndarray:
    return iio.imread(FOLDER / "Images" / f"{name}.png").astype(np.float64) / 255


def paint_hubble() -> Path:
    """A rough painting of a deep field: flat coloured blobs on black, softened a little."""
    canvas = np.zeros((186, 248, 3))
    # (centre row, centre column, radius rows, radius columns, angle, RGB)
    blobs = [(50, 60, 14, 24, 0.5, (1.0, 0.75, 0.45)), (120, 170, 18, 12, -0.3, (1.0, 0.95, 0.85)),
             (140, 50, 8, 8, 0.0, (0.55, 0.7, 1.0)), (40, 190, 6, 14, 1.0, (0.9, 0.45, 0.3)),
             (95, 115, 4, 4, 0.0, (1.0, 1.0, 1.0)), (160, 215, 5, 9, 0.2, (0.6, 0.75, 1.0))]
    for row, column, radius_rows, radius_columns, angle, colour in blobs:
        inside = ellipse(row, column, radius_rows, radius_columns, canvas.shape[:2], rotation=angle)
        canvas[inside] = colour
    return write(FOLDER / "Paint" / "hubble.png", gaussian(canvas, sigma=1.0, channel_axis=-1))


def harmonization_hubble() -> tuple[Path, Path]:
    """A naive paste: a flat blue-white horse silhouette (scikit-image's horse) pasted onto the deep field."""
    background = load("hubble")
    silhouette = ~skimage.data.horse()  # True on the horse
    shape = resize(silhouette.astype(float), (70, 86), anti_aliasing=True) > 0.5
    mask = np.zeros(background.shape[:2], bool)
    mask[70:140, 120:206] = shape
    rows = np.linspace(0, 1, background.shape[0])[:, None, None]
    paint = np.concatenate([0.55 + 0.3 * rows + 0 * background[..., :1], 0.7 + 0.2 * rows + 0 * background[..., :1],
                            np.ones_like(background[..., :1])], axis=-1)
    naive = np.where(mask[..., None], paint, background)
    folder = FOLDER / "Harmonization"
    return write(folder / "hubble_naive.png", naive), write(folder / "hubble_naive_mask.png", mask.astype(float))


def editing_gravel() -> tuple[Path, Path]:
    """A rough edit: a patch of gravel with stones 1.6 times too large pasted in, seams and all."""
    gravel = load("gravel")
    # The export shrinks the original by about 0.49; this patch by 0.78, from the same full-size photo.
    patch = resize(skimage.data.gravel()[400:502, 300:443] / 255, (80, 112), anti_aliasing=True)
    edited = gravel.copy()
    edited[60:140, 70:182] = patch
    mask = np.zeros(gravel.shape, bool)
    mask[60:140, 70:182] = True
    folder = FOLDER / "Editing"
    return write(folder / "gravel_edit.png", edited), write(folder / "gravel_edit_mask.png", mask.astype(float))


def quarter_coffee() -> Path:
    """coffee.png at a quarter of its size (62x42 px), for `singan sr --factor 4`."""
    coffee = load("coffee")
    small = resize(coffee, (coffee.shape[0] // 4, coffee.shape[1] // 4), anti_aliasing=True)
    return write(FOLDER / "SuperResolution" / "coffee_quarter.png", small)


if __name__ == "__main__":
    for example in EXAMPLES:
        print(export(example))
    print(paint_hubble())
    print(*harmonization_hubble(), sep="\n")
    print(*editing_gravel(), sep="\n")
    print(quarter_coffee())

"""Re-create the example images in Input/Images from scikit-image's bundled data.

Run from the repository root: python Input/export_examples.py
"""

from pathlib import Path

import imageio.v3 as iio
import numpy as np
import skimage.data
from skimage.transform import resize

FOLDER = Path(__file__).parent / "Images"

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
    path = FOLDER / f"{name}.png"
    iio.imwrite(path, (small * 255).round().astype(np.uint8))
    return path


if __name__ == "__main__":
    FOLDER.mkdir(parents=True, exist_ok=True)
    for example in EXAMPLES:
        print(export(example))

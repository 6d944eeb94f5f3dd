"""Tasks of the ESRGAN family: upscaling an image with a super-resolution network, tile by tile."""

#!/usr/bin/env bash
# Re-create the pictures of the README's task section in docs/images: train the quick preset on two
# example images, then run every task on the examples in Input/. About 20 minutes on a 2-core CPU.
#   bash docs/make_examples.sh
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGES=docs/images
mkdir -p "$IMAGES"

singan train Input/Images/hubble.png --preset quick --seed 0 --force --quiet
singan train Input/Images/gravel.png --preset quick --seed 0 --force --quiet

singan sample hubble --num 2 --quiet
singan paint hubble Input/Paint/hubble.png --start-scale 1-3 --quiet
singan paint hubble Input/Paint/hubble.png --start-scale 1 --quantize --quiet
singan harmonize hubble Input/Harmonization/hubble_naive.png --start-scale 1-4 --quiet
singan edit gravel Input/Editing/gravel_edit.png --start-scale 1-4 --quiet
singan retarget hubble --size 96x320 --num 1 --quiet
singan animate hubble --frames 40 --loop --no-mp4 --quiet
# Super-resolution of a quarter-size copy of coffee.png (made by Input/export_examples.py).
singan sr Input/SuperResolution/coffee_quarter.png --factor 4 --preset quick --seed 0 --force --quiet

copy() { cp "$1" "$IMAGES/$2"; }
copy Output/hubble/samples/start0/seed0000.png hubble_sample.png
for scale in 1 2 3; do copy Output/hubble/paint/hubble_start$scale.png paint_start$scale.png; done
copy Output/hubble/paint/hubble_start1_quantized.png paint_start1_quantized.png
for scale in 1 2 3 4; do
  copy Output/hubble/harmonize/hubble_naive_start$scale.png harmonize_start$scale.png
  copy Output/gravel/edit/gravel_edit_start$scale.png edit_start$scale.png
done
copy Output/hubble/retarget/96x320_start0/seed0000.png retarget_96x320.png
copy Output/hubble/animate/start2_beta0.90_loop.gif animate_loop.gif
copy Output/coffee_quarter_sr/sr/coffee_quarter_x4.png sr_x4.png
copy Output/coffee_quarter_sr/sr/coffee_quarter_x4_bicubic.png sr_x4_bicubic.png
echo "pictures in $IMAGES"

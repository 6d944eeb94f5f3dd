#!/usr/bin/env bash
# Re-create the pictures of the README's task section in docs/images: train the quick preset on two
# example images and run every task on the examples in Input/ (benchmarks/tasks_cli.py, which also
# times each command), then copy the outputs. About 30 to 45 minutes on a 2-core CPU.
#   bash docs/make_examples.sh            (runs go to Output/; complete ones there are reused)
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGES=docs/images
mkdir -p "$IMAGES"

python benchmarks/tasks_cli.py --root Output --reuse
# The README's super-resolution picture uses the default (paper) settings: about 15 more minutes.
singan sr Input/SuperResolution/coffee_quarter.png --factor 4 --seed 0 --quiet

copy() { cp "$1" "$IMAGES/$2"; }
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

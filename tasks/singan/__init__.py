"""SinGAN's tasks (section 4 of the paper): sampling, retargeting, animation, paint-to-image, harmonization,
editing, super-resolution, and its evaluation. Each takes the SinGAN model and returns images."""

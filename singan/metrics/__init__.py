"""Quality figures for generated images: patch SWD, diversity, SIFID/FID (Inception features)."""

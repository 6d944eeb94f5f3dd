"""`python -m singan` runs the command-line interface."""

from singan.cli import main

main()

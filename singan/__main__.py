"""`python -m singan` runs the command-line interface."""

from singan.cli import main

if __name__ == "__main__":  # not when a job process of `singan batch --jobs-per-device` starts
    main()

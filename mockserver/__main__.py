"""`python -m mockserver …` is `pacspace-mock …` (when the console script is not on PATH)."""

from .cli import main

if __name__ == "__main__":
    main(prog_name="pacspace-mock")

"""`python -m mockserver.scenarios FILE_OR_NAME...`: the replay command without the main CLI."""

from .cli import replay

if __name__ == "__main__":
    replay(prog_name="pacspace-mock replay")

"""`python -m chargen` runs the CLI."""

from chargen.cli import main

if __name__ == "__main__":
    main()

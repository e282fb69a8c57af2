"""The command line: all parsing and printing, and the exit codes."""

from ttwriter.cli.main import console_main, main

__all__ = ["console_main", "main"]

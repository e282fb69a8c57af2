"""Tests of the command line: dispatch, exit codes, what each command prints."""

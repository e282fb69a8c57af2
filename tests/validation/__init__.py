"""Tests of validation: the checks, the reports, the gate before runs start."""

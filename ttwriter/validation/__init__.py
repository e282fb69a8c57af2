"""Checks on written configs, collected into one report, and the gate that keeps invalid runs from starting."""

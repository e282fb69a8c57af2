"""Tests of the start-up constraints, against torchtune's own builders and recipes."""

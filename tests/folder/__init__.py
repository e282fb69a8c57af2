"""Tests of the experiment folder: its layout, atomic writing, markers, reading it back."""

"""Tests of local training, results and the tiny CPU assets."""

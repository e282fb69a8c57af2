"""Running a written folder here and reading what it produced: local training, results, plots, tiny CPU assets."""

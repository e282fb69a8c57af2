"""Constraints between keys that torchtune checks only when a run starts, one table per builder or recipe family."""

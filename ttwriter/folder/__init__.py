"""The experiment folder on disk: one layout, written atomically, read back."""

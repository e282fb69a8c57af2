"""ttwriter's tests, laid out like the package: tests/<subpackage>/test_<module>.py."""

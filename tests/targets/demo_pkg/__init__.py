"""A package run with python -m demo_pkg in the record tests."""

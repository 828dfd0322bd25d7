"""Build hook for the C core; the package metadata lives in pyproject.toml."""

from setuptools import setup

setup(
    cffi_modules=["pyprof/_build_core.py:ffibuilder"],
    setup_requires=["cffi>=1.15"],
)

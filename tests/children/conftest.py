"""Fixtures for the child-process and hard-exit tests."""

import pytest

from children_helpers import comments
from children_helpers import cpu_by_pid


@pytest.fixture
def per_pid(load_profile):
    """per_pid(path) -> (cpu_by_pid, comments) of a written profile."""

    def read(path):
        profile = load_profile(path)
        return cpu_by_pid(profile), comments(profile)

    return read

"""Fixtures for the unit tests."""

import time

import pytest


@pytest.fixture
def utc(monkeypatch):
    """Run the test with the local time zone set to UTC (Time: headers)."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()

"""Value and percentage formatting, with values pprof 1.19 prints."""

import pytest

from pyprof.report import measure


@pytest.mark.parametrize(
    "value, unit, to, text",
    [
        (1_980_000_000, "nanoseconds", "minimum", "1.98s"),
        (1_980_000_000, "nanoseconds", "ms", "1980ms"),
        (2_500_000_000, "nanoseconds", "auto", "2.50s"),
        (1_000_000_000, "nanoseconds", "auto", "1s"),
        (-450_000_000, "nanoseconds", "auto", "-450ms"),
        (0, "nanoseconds", "auto", "0"),
        (3072 * 1024, "bytes", "kB", "3072kB"),
        (92, "bytes", "kB", "0.09kB"),
        (12346, "widgets", "widgets", "12346widgets"),
        (1003, "count", "minimum", "1003"),
        (7, "nanoseconds", "minimum", "7ns"),
        (3 * 3_600_000_000_000, "nanoseconds", "auto", "3hrs"),
    ],
)
def test_scaled_label(value, unit, to, text):
    assert measure.scaled_label(value, unit, to) == text


@pytest.mark.parametrize(
    "value, total, text",
    [
        (4195, 10000, "41.95%"),
        (106, 10000, " 1.06%"),
        (28125, 10000, "281.25%"),
        (5, 1000, "  0.5%"),
        (17, 100000, "0.017%"),
        (57, 100_000_000, "5.7e-05%"),
        (0, 100, "    0%"),
        (9996, 10000, "  100%"),
        (-50, 100, "50.00%"),
        (5, 0, "    0%"),
    ],
)
def test_percentage(value, total, text):
    assert measure.percentage(value, total) == text


def test_profile_time_uses_go_layout(utc):
    assert measure.profile_time(1_700_000_000_123_456_789) == (
        "Nov 14, 2023 at 10:13pm (UTC)"
    )
    assert measure.profile_time(1_506_718_679_257_235_370) == (
        "Sep 29, 2017 at 8:57pm (UTC)"
    )
    assert measure.profile_time(0) == "Jan 1, 1970 at 12:00am (UTC)"

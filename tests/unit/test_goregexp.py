"""pprof's RE2 expressions select what they select in Go."""

import re
import warnings

import pytest

from pyprof import goregexp


@pytest.mark.parametrize(
    "pattern, matches, misses",
    [
        (r"[[:alpha:]]+\.discount", ["Pricer.discount"], ["9.discount"]),
        (r"^[[:upper:]][[:lower:]]+$", ["Pricer"], ["pricer", "PRICER"]),
        (r"\pL+\.x", ["é.x"], ["1.x"]),
        (r"\p{L}", ["a"], ["1"]),
        (r"^\PL+$", ["123"], ["a1"]),
        (r"\Qa.b(c)\E", ["a.b(c)"], ["axb(c)"]),
        (r"checksum\z", ["checksum"], ["checksum\n"]),
        (r"\x{41}", ["A"], ["a"]),
        (r"a{,3}", ["a{,3}"], ["aaa"]),
        (r"a{2}", ["aa"], ["a"]),
        (r"[a[]", ["["], ["b"]),
        (r"\d", ["7"], ["٧"]),
        (r"\w+\b", ["abc"], ["é"]),
        (r"[\d.]+", ["1.5"], ["x"]),
        (r"(?i)MAIN", ["main.f"], ["mane"]),
    ],
)
def test_expression_matches_as_in_go(pattern, matches, misses):
    compiled = goregexp.compile(pattern)
    assert [bool(compiled.search(s)) for s in matches] == [True] * len(matches)
    assert [bool(compiled.search(s)) for s in misses] == [False] * len(misses)


@pytest.mark.parametrize(
    "pattern, fragment",
    [
        (r"(?U)a*", "ungreedy flag"),
        (r"\p{Greek}", r"\p{Greek}"),
        (r"[[:^alpha:]]", "[:^alpha:]"),
        (r"[abc", "missing closing ]"),
        ("a\\", "trailing backslash"),
    ],
)
def test_unsupported_or_broken_expression_is_an_re_error(pattern, fragment,
                                                         monkeypatch):
    monkeypatch.setattr(goregexp, "_RE2", False)  # as without google-re2
    with pytest.raises(re.error, match=re.escape(fragment)):
        goregexp.compile(pattern)


@pytest.mark.parametrize("pattern, text", [
    (r"(?U)a+", "aaa"), (r"\p{Greek}", "\u03b1"), (r"[[:^alpha:]]", "1"),
])
def test_with_google_re2_what_only_re2_reads_is_taken(pattern, text):
    import re2  # noqa: F401 (a test dependency: pip install -e '.[test]')

    assert goregexp.compile(pattern).search(text)


def test_no_python_warning_escapes():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        goregexp.compile(r"[[:alpha:]&&~~||]")

"""Go's regular expressions (RE2 syntax) on top of Python's re.

pprof's options (-focus, -ignore, -hide, -show, -show_from, -tagfocus,
list and peek) take RE2 expressions. Most of RE2 reads the same in
Python's re; this module rewrites the parts that do not, so a user's
expression selects the same functions in pyprof as in `go tool pprof`:

- POSIX classes inside brackets, ``[[:alpha:]]``; a ``[`` or ``&``, ``~``,
  ``|`` inside brackets is a plain character (Python warns about them as
  possible future set operations);
- ``\\Q...\\E`` literal text, ``\\z`` end of text, ``\\x{10FFFF}``;
- ``\\d``, ``\\w``, ``\\s`` and ``\\b`` are ASCII-only in RE2;
- ``\\pL``, ``\\p{L}``, ``\\PL``, ``\\pN``, ``\\p{Nd}`` (letters, numbers);
- a ``{`` that does not start a repetition (``a{,3}``) is a literal.

With the optional google-re2 package, RE2 itself matches (see compile()).

Limitation: without google-re2, other Unicode classes (``\\p{Greek}``,
``\\p{Lu}``), negated POSIX classes (``[[:^alpha:]]``) and the ungreedy
flag ``(?U)`` raise re.error saying so, where Go would accept them; ``$``
also matches before a final newline, as in Python, which only matters for
names that end in one.
"""

from __future__ import annotations

import re
import warnings
from typing import Pattern

_POSIX_CLASSES = {
    "alnum": "0-9A-Za-z",
    "alpha": "A-Za-z",
    "ascii": "\\x00-\\x7f",
    "blank": "\\t ",
    "cntrl": "\\x00-\\x1f\\x7f",
    "digit": "0-9",
    "graph": "!-~",
    "lower": "a-z",
    "print": " -~",
    "punct": "!-/:-@\\[-`{-~",
    "space": "\\t\\n\\v\\f\\r ",
    "upper": "A-Z",
    "word": "0-9A-Za-z_",
    "xdigit": "0-9A-Fa-f",
}

# RE2's Perl classes are ASCII; Python's are Unicode for str patterns.
_PERL_CLASSES = {"d": "0-9", "w": "0-9A-Za-z_", "s": "\\t\\n\\f\\r "}

# The Unicode classes Python's re can express.
_UNICODE_CLASSES = {"L": "[^\\W\\d_]", "N": "\\d", "Nd": "\\d"}

_REPETITION = re.compile(r"\{[0-9]+(?:,[0-9]*)?\}")
_HEX_BRACED = re.compile(r"\\x\{([0-9A-Fa-f]{1,6})\}")
_UNICODE_CLASS = re.compile(r"\\([pP])(?:\{(\^?)([A-Za-z_]+)\}|([A-Za-z]))")
_POSIX = re.compile(r"\[:(\^?)([a-z]+):\]")
_ASCII_BOUNDARY = (
    r"(?:(?<![0-9A-Za-z_])(?=[0-9A-Za-z_])|(?<=[0-9A-Za-z_])(?![0-9A-Za-z_]))"
)
_ASCII_NON_BOUNDARY = (
    r"(?:(?<=[0-9A-Za-z_])(?=[0-9A-Za-z_])|(?<![0-9A-Za-z_])(?![0-9A-Za-z_]))"
)


# RE2 refuses repetitions that would make more than this many copies of
# what they repeat, counting nested repetitions multiplied together.
MAX_REPEAT = 1000


class GoSyntaxError(re.error):
    """An expression Go's regexp package rejects though Python's re would
    accept it; code and expr are Go's error code and the part quoted."""

    def __init__(self, code: str, expr: str, pattern: str, pos: int) -> None:
        super().__init__(code, pattern, pos)
        self.code = code
        self.expr = expr


def compile(pattern: str) -> Pattern[str]:  # noqa: A001 - mirrors re.compile
    """Compile an RE2 expression; raises re.error as re.compile does.

    With the optional google-re2 package installed (``pip install
    pyprof[re2]``), matching is done by RE2 itself, in time linear in the
    text, as in Go; errors are still checked, and worded, as below. Without
    it, Python's re matches the translated expression, and an expression
    such as ``(.|.)*Z$`` can backtrack for minutes on a long name.
    """
    try:
        translated = translate(pattern)
    except GoSyntaxError:
        raise
    except re.error:
        fast = _re2_compile(pattern)  # what only this module cannot translate
        if fast is None:
            raise
        return fast
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        slow = re.compile(translated)
    fast = _re2_compile(pattern)
    return slow if fast is None else _RE2Pattern(fast, slow)


_RE2 = None  # the re2 module once imported; False when it is not installed


def _re2_compile(pattern: str):
    """pattern compiled by google-re2, or None (not installed, or refused)."""
    global _RE2
    if _RE2 is None:
        try:
            import re2
        except ImportError:
            _RE2 = False
        else:
            options = re2.Options()
            options.log_errors = False  # refusals are reported here, not logged
            _RE2 = (re2, options)
    if not _RE2:
        return None
    module, options = _RE2
    try:
        return module.compile(pattern, options)
    except Exception:  # re2 raises its own error type; re's check decides
        return None


class _RE2Pattern:
    """search and match by RE2; Python's re only for a text that is not
    valid Unicode (a name read with surrogate escapes), which RE2 cannot
    take."""

    def __init__(self, fast, slow) -> None:
        self.fast = fast
        self.slow = slow
        self.pattern = slow.pattern

    def search(self, text: str):
        try:
            return self.fast.search(text)
        except UnicodeEncodeError:
            return self.slow.search(text)

    def match(self, text: str):
        try:
            return self.fast.match(text)
        except UnicodeEncodeError:
            return self.slow.match(text)


def translate(pattern: str) -> str:
    """Rewrite an RE2 expression into Python's re syntax.

    Raises:
        GoSyntaxError: what Go rejects and Python would not: bytes that
            are not UTF-8 (read from input as surrogate escapes), and
            repetition counts over 1000, alone or multiplied by nesting.
        re.error: a construct this module cannot translate.
    """
    _check_utf8(pattern)
    out = []
    # Per open group: the most copies of an innermost subject that one of
    # its finished items makes (nested repetition counts multiplied), and
    # the same for the item just read, which a following {m,n} repeats.
    groups = [1]
    atom = 1
    i = 0
    last_repeat = -1  # where the repetition operator just read starts
    while i < len(pattern):
        char = pattern[i]
        repetition = _REPETITION.match(pattern, i) if char == "{" else None
        if repetition or char in "*+?":
            text = repetition.group() if repetition else char
            end = i + len(text)
            if pattern.startswith("?", end):
                text, end = text + "?", end + 1  # non-greedy
            if last_repeat >= 0:
                raise GoSyntaxError("invalid nested repetition operator",
                                    pattern[last_repeat:end], pattern, i)
            if repetition:
                atom = _repeat_copies(repetition.group(), atom, pattern, i)
            out.append(text)
            last_repeat, i = i, end
            continue
        last_repeat = -1
        groups[-1] = max(groups[-1], atom)  # the previous item is finished
        atom = 1
        if char == "\\":
            text, i = _escape(pattern, i, in_class=False)
            out.append(text)
        elif char == "[":
            text, i = _bracket(pattern, i)
            out.append(text)
        elif char == "{":
            out.append("\\{")
            i += 1
        elif char == "(":
            if pattern.startswith("(?", i):
                _check_flags(pattern, i)
            out.append(char)
            groups.append(1)
            i += 1
        elif char == ")":
            out.append(char)
            if len(groups) > 1:
                atom = groups.pop()
            i += 1
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _check_utf8(pattern: str) -> None:
    for i, char in enumerate(pattern):
        if "\udc80" <= char <= "\udcff":
            raise GoSyntaxError("invalid UTF-8", pattern[i:], pattern, i)


def _repeat_copies(text: str, inner: int, pattern: str, i: int) -> int:
    """The copies {m}, {m,} or {m,n} makes of an item that itself makes
    inner copies; raises GoSyntaxError beyond MAX_REPEAT, as Go does."""
    low, _, high = text[1:-1].partition(",")
    least = int(low)
    most = int(high) if high else (-1 if "," in text else least)
    if least > MAX_REPEAT or most > MAX_REPEAT or 0 <= most < least:
        raise GoSyntaxError("invalid repeat count", text, pattern, i)
    if most == 0:
        return 1  # repeats nothing: Go does not count what is inside
    copies = most if most >= 0 else least
    if copies >= 2 and copies * inner > MAX_REPEAT:
        raise GoSyntaxError("invalid repeat count", text, pattern, i)
    return max(copies, 1) * inner


def _check_flags(pattern: str, i: int) -> None:
    flags = re.match(r"\(\?([a-zA-Z-]*)[:)]", pattern[i:])
    if flags and "U" in flags.group(1):
        raise re.error("the ungreedy flag (?U) is not supported", pattern, i)


def _escape(pattern: str, i: int, in_class: bool):
    """Translate the escape at pattern[i]; returns (text, next index)."""
    if i + 1 >= len(pattern):
        raise re.error("trailing backslash at end of expression", pattern, i)
    letter = pattern[i + 1]
    if letter == "Q" and not in_class:
        end = pattern.find("\\E", i + 2)
        literal = pattern[i + 2 :] if end < 0 else pattern[i + 2 : end]
        return re.escape(literal), len(pattern) if end < 0 else end + 2
    if letter == "z" and not in_class:
        return "\\Z", i + 2
    if letter in "bB" and not in_class:
        return (_ASCII_BOUNDARY if letter == "b" else _ASCII_NON_BOUNDARY), i + 2
    if letter.lower() in _PERL_CLASSES:
        chars = _PERL_CLASSES[letter.lower()]
        if letter.islower():
            return (chars if in_class else f"[{chars}]"), i + 2
        if in_class:
            message = f"\\{letter} inside brackets is not supported"
            raise re.error(message, pattern, i)
        return f"[^{chars}]", i + 2
    hex_braced = _HEX_BRACED.match(pattern, i)
    if hex_braced:
        return f"\\U{int(hex_braced.group(1), 16):08x}", hex_braced.end()
    unicode_class = _UNICODE_CLASS.match(pattern, i)
    if unicode_class:
        return _unicode_class(pattern, i, unicode_class, in_class)
    return pattern[i : i + 2], i + 2


def _unicode_class(pattern: str, i: int, match: "re.Match[str]", in_class: bool):
    negated = (match.group(1) == "P") != bool(match.group(2))
    name = match.group(3) or match.group(4)
    if name not in _UNICODE_CLASSES or in_class:
        where = " inside brackets" if in_class else ""
        message = f"the class \\p{{{name}}}{where} is not supported"
        raise re.error(message, pattern, i)
    positive = _UNICODE_CLASSES[name]
    if not negated:
        return positive, match.end()
    return f"(?:(?!{positive})[\\s\\S])", match.end()


def _bracket(pattern: str, i: int):
    """Translate the bracket expression at pattern[i]; returns (text, next)."""
    out = ["["]
    j = i + 1
    if pattern.startswith("^", j):
        out.append("^")
        j += 1
    if pattern.startswith("]", j):  # a leading ] is a member
        out.append("\\]")
        j += 1
    while j < len(pattern) and pattern[j] != "]":
        posix = _POSIX.match(pattern, j)
        if posix:
            negated, name = posix.groups()
            if name not in _POSIX_CLASSES or negated:
                message = f"the class [:{negated}{name}:] is not supported"
                raise re.error(message, pattern, j)
            out.append(_POSIX_CLASSES[name])
            j = posix.end()
        elif pattern[j] == "\\":
            text, j = _escape(pattern, j, in_class=True)
            out.append(text)
        elif pattern[j] in "[&~|":
            out.append("\\" + pattern[j])
            j += 1
        else:
            out.append(pattern[j])
            j += 1
    if j >= len(pattern):
        raise re.error("missing closing ]", pattern, i)
    out.append("]")
    return "".join(out), j + 1

"""Checks for what people type: codes, names and free text, refused with a sentence.

Text is stored exactly as given when it is valid; control characters (terminal
escapes, NUL) and undecodable bytes are refused rather than cleaned, so what an
auditor reads is what the person wrote.
"""

from __future__ import annotations

import re
import unicodedata

from workflow.domain import limits
from workflow.errors import UsageError

# The longest values a person types, declared once: the API's models and the web forms' maxlength
# use these (server/web/render.py hands them to the templates as ``most``).
CODE_MAX = 64  # a project code
PERSON_MAX = 64  # a person's login name
LINE_MAX = 200  # a one-line name: a project's, a client's, a display name, a token's
TEXT_MAX = int(limits.TEXT.default)  # free text: a note, a comment, a reason
FILE_NAME_MAX = 255  # a deliverable's file name, as shown
URL_MAX = 2000  # a deliverable that is a link: its address

CODE_RE = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._-]{{0,{CODE_MAX - 1}}}")

# The bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069): they
# reorder how the text around them is shown, so what a reader sees is not what was written.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")



def _bad_char(text: str, allow_newlines: bool) -> str | None:
    """The first character phasegate refuses in ``text``, described; None if there is none."""
    probe = text.replace("\n", "").replace("\t", "") if allow_newlines else text
    if probe.isprintable():  # no control, surrogate, format or line/paragraph separator at all
        return None
    return _first_bad_char(text, allow_newlines)


def _first_bad_char(text: str, allow_newlines: bool) -> str | None:
    """The character-by-character check (``str.isprintable`` also refuses harmless characters
    such as a no-break space, so a text it refuses is looked at closely)."""
    for ch in text:
        if allow_newlines and ch in "\n\t":
            continue
        if "\ud800" <= ch <= "\udfff":
            return "bytes that are not valid UTF-8"
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Cs") or ch in "\u2028\u2029" or ch in BIDI_CONTROLS:
            return f"a control character (U+{ord(ch):04X})"
    return None


def project_code(code: str) -> str:
    if not isinstance(code, str) or not CODE_RE.fullmatch(code):
        raise UsageError(
            f"{shown(code)} is not a valid project code: use 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return code


# A login name: what people sign in with and are assigned by (product.md, "Accounts").
PERSON_RE = re.compile(rf"[a-z0-9][a-z0-9._@-]{{0,{PERSON_MAX - 1}}}")
PERSON_RULE = "1-64 lowercase letters, digits, '.', '_', '@' or '-', starting with a letter or digit"


def person(name: str, what: str = "a person's name") -> str:
    """A login name, or UsageError with the rule (the same names accounts have)."""
    if not isinstance(name, str) or not name.strip():
        raise UsageError(f"{what} must not be empty")
    if not PERSON_RE.fullmatch(name):
        raise UsageError(f"{what} {shown(name)} is not a login name: use {PERSON_RULE}")
    return name


def text(
    value: str | None, what: str, *, required: bool = False, max_len: int = TEXT_MAX, multiline: bool = True
) -> str | None:
    """Free text (notes, comments, reasons, names). ``required`` refuses None and blanks."""
    if value is None or not value.strip():
        if required:
            raise UsageError(f"{what} is required and must not be blank")
        return None
    if len(value) > max_len:
        raise UsageError(f"{what} is too long ({len(value)} characters; at most {max_len})")
    bad = _bad_char(value, allow_newlines=multiline)
    if bad:
        raise UsageError(f"{what} contains {bad}")
    return value


def utf8_text(data: bytes | bytearray, most: int, *, too_large: str, not_text: str) -> str:
    """``data`` (a file's, a request body's) as text: refused with ``too_large`` past ``most`` bytes,
    with ``not_text`` when it is not UTF-8."""
    if len(data) > most:
        raise UsageError(too_large)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(not_text) from None


def shown(value: object, limit: int = 60) -> str:
    """A value quoted for an error message: escapes made visible, long text shortened."""
    s = value if isinstance(value, str) else repr(value)
    out = []
    for ch in s:
        if ch == "'" or ch == "\\":
            out.append("\\" + ch)
        elif ch.isprintable() and not ("\ud800" <= ch <= "\udfff"):
            out.append(ch)
        else:
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
    body = "".join(out)
    if len(body) > limit:
        body = body[: limit - 1] + "…"
    return f"'{body}'"


# What the store holds: years 1 to 9999 in UTC, written the way ``storage.database.utcnow`` writes them.
EARLIEST_TIME = "0001-01-01T00:00:00.000000Z"
LATEST_TIME = "9999-12-31T23:59:59.999999Z"
STORED_TIME_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z")


def normalize_time(value: str) -> str:
    """An ISO 8601 time (date, or date and time with or without offset) as stored:
    UTC, fixed width ``YYYY-MM-DDTHH:MM:SS.ffffffZ``.

    Times are compared as text in SQL (``at >= ?``), which orders them like the instants
    only when every one has the same width: the year is always four digits (glibc's
    ``strftime("%Y")`` writes year 999 as ``999``, which sorts after ``2026``), and a time
    whose UTC instant lies outside years 1 to 9999 is refused with a sentence instead of
    overflowing. Every time argument (``--since``, ``--until``, ``--at``) comes through here.
    """
    from datetime import UTC, datetime

    if not isinstance(value, str):
        raise UsageError(f"{shown(value)} is not an ISO 8601 time (e.g. 2026-11-28 or 2026-11-28T14:30:00Z)")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except (ValueError, OverflowError):
        raise UsageError(
            f"{shown(value)} is not an ISO 8601 time (e.g. 2026-11-28 or 2026-11-28T14:30:00Z)"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        utc = parsed.astimezone(UTC)
    except OverflowError:  # the offset moves it before year 1 or after year 9999
        raise UsageError(
            f"{shown(value)} lies outside the times phasegate can store "
            f"({EARLIEST_TIME[:19]}Z to {LATEST_TIME[:19]}Z, in UTC)"
        ) from None
    # isoformat pads the year to four digits; with timespec it always has the microseconds.
    return utc.isoformat(timespec="microseconds")[:-6] + "Z"


JOBS_MAX = 64
# The largest count a person may ask for (--last, --limit): far above any real history, and
# inside every backend's integer types.
COUNT_MAX = 1_000_000_000
VERSION_MAX = 2**31 - 1


def time_range(since: str | None, until: str | None) -> tuple[str | None, str | None]:
    """``since`` and ``until`` as stored (see :func:`normalize_time`), refused when ``since`` is after
    ``until``: such a filter matches nothing, and "no events" would read as "nothing happened"."""
    begin = None if since is None else normalize_time(since)
    end = None if until is None else normalize_time(until)
    if begin is not None and end is not None and begin > end:
        raise UsageError(f"since ({shown(since)}) is after until ({shown(until)}): no event can match; "
                         "swap them or widen the range")
    return begin, end


def count(value: int | None, what: str, *, most: int = COUNT_MAX) -> int | None:
    """A number of things (None: no bound), from 1 to ``most``; anything else is bad input."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
        raise UsageError(f"{what} must be a whole number from 1 to {most:,}, not {shown(value)}")
    return value


def event_number(value: str) -> int | None:
    """An event's number written as text (a form's ``seq``, an ``If-Match``), or None when it is not one:
    ASCII digits only (``str.isdigit`` also takes "²" and "٣", which ``int`` refuses) and at most
    ``COUNT_MAX`` (a larger number names no event, and overflows SQLite's integers past 2**63)."""
    if not (value.isascii() and value.isdigit()) or len(value) > len(str(COUNT_MAX)):
        return None
    number = int(value)
    return number if number <= COUNT_MAX else None


def jobs(value: int | None) -> int | None:
    """A number of processes to verify with: None (choose), or 1 to JOBS_MAX."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= JOBS_MAX:
        raise UsageError(
            f"the number of jobs must be a whole number from 1 to {JOBS_MAX}, not {shown(value)}"
        )
    return value


_DURATION_RE = re.compile(r"([1-9][0-9]{0,5})([smhdw])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def duration(value: str, what: str = "the duration") -> int:
    """``90d``, ``12h``, ``30m``, ``2w``, ``45s`` as seconds (at most ten years)."""
    found = _DURATION_RE.fullmatch(value.strip()) if isinstance(value, str) else None
    if found is None:
        raise UsageError(
            f"{what} {shown(value)} is not a duration: use a number and s, m, h, d or w (e.g. 90d)"
        )
    seconds = int(found.group(1)) * _UNIT_SECONDS[found.group(2)]
    if seconds > 3650 * 86400:
        raise UsageError(f"{what} {shown(value)} is longer than ten years")
    return seconds


def later(at: str, seconds: float) -> str:
    """The stored time ``seconds`` after the stored time ``at``."""
    from datetime import UTC, datetime, timedelta

    moment = datetime.fromisoformat(at.replace("Z", "+00:00")) + timedelta(seconds=seconds)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")[:-6] + "Z"

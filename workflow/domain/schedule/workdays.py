"""Working time: a project's calendar, a phase's due date, and when a waiting signer is reminded.

The rules (docs/run/clock.md, "The rules"):

- A **calendar** is Monday to Friday, less the public holidays of a country or subdivision
  the ``holidays`` package knows (``GB-ENG``, ``US-NY``, ``FR``); none: Monday to Friday.
- A **span** is ``Nd`` (N working days) or ``Nh`` (N hours of the clock).
- A round of a phase **starts** when it is entered (or on the project's start date, if that
  is later); its **due date** is the Nth working day after the day it starts (the start
  day itself does not count), due at the end of that day, UTC. A rejection starts a new
  round with a new due date; a due date set ahead with ``project due`` is the first round's.
- A phase's **gate opens** when its last task is done (at once for a phase without tasks);
  a signer is **reminded** ``remind_after`` later, and the gate **escalated**
  ``escalate_after`` later: N working days later at the same time of day, or N hours later.
- **On hold the clock stops**: on resume, the due date moves later by the working days the
  hold covered, and the gate's clock by the hold's length.

Pure functions on ISO texts (``YYYY-MM-DD`` dates, stored UTC times); ``holidays`` is imported
only for a project that names a calendar.

**The edges of the calendar.** A date a person gives lies within ``limits.DATE_YEARS`` of
today (:func:`given_day`). A date already stored may lie anywhere in years 1 to 9999 (an
older phasegate took any; SQL writes anything), so nothing here overflows on one: a sum
past 9999-12-31 stays at the calendar's last day or moment (due "never"), working days are
counted in O(weeks) over at most :data:`HORIZON` (beyond it :func:`days_left` says None),
and a read never fails on a stored date.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

from workflow.domain.limits import DATE_YEARS
from workflow.errors import UsageError

SPAN = re.compile(r"([1-9][0-9]{0,2})([dh])")
CALENDAR = re.compile(r"([A-Za-z]{2,3})(?:-([A-Za-z0-9]{1,6}))?")
MAX_DAYS = 400 * 366  # a walk through working days ends well before this, whatever the calendar
ONE_DAY = timedelta(days=1)
FIRST_MOMENT = datetime.min.replace(tzinfo=UTC)
LAST_MOMENT = datetime.max.replace(tzinfo=UTC)  # a due date or reminder past the calendar's end: never
# How far apart two dates may be for the working days between them to be counted: twice the span a
# person may give a date in, so every date given is countable for DATE_YEARS after it was given.
HORIZON = timedelta(days=round(2 * DATE_YEARS.default * 365.25))


def parse_span(span: str) -> tuple[int, str]:
    found = SPAN.fullmatch(span)
    if found is None:
        raise UsageError(f"{span!r} is not a span: give working days or hours, such as 5d or 4h")
    return int(found.group(1)), found.group(2)


@lru_cache(maxsize=64)
def working_day(code: str | None) -> Callable[[date], bool]:
    """Whether a day is a working day in calendar ``code`` (None: Monday to Friday)."""
    if code is None:
        return lambda day: day.weekday() < 5
    country, subdivision = _calendar_parts(code)
    import holidays

    days_off = holidays.country_holidays(country, subdiv=subdivision)
    return lambda day: day.weekday() < 5 and day not in days_off


def calendar_code(value: str) -> str:
    """``value`` as a calendar the ``holidays`` package knows (``gb-eng`` -> ``GB-ENG``), else a sentence."""
    found = CALENDAR.fullmatch(value.strip())
    if found is None:
        raise UsageError(f"{value!r} is not a calendar: give a country code, or country-subdivision "
                         "(e.g. GB-ENG, US-NY, FR)")
    code = found.group(1).upper() + (f"-{found.group(2).upper()}" if found.group(2) else "")
    _calendar_parts(code)
    return code


def _calendar_parts(code: str) -> tuple[str, str | None]:
    import holidays

    country, _, subdivision = code.partition("-")
    supported = holidays.list_supported_countries()
    if country not in supported:
        raise UsageError(f"there is no holiday calendar for the country {country!r} "
                         "(an ISO 3166 code the holidays package knows, e.g. GB, US, DE, FR)")
    if subdivision and subdivision not in supported[country]:
        listing = ", ".join(supported[country][:40]) or "none"
        raise UsageError(f"{country} has no subdivision {subdivision!r} (it has: {listing})")
    return country, subdivision or None


def parse_day(value: str) -> date:
    try:
        return date.fromisoformat(value.strip()[:10])
    except (ValueError, TypeError, AttributeError):
        raise UsageError(f"{value!r} is not a date (YYYY-MM-DD)") from None


def given_day(value: str, today: date, what: str = "the date") -> str:
    """A date a person gives (a due date, a start date) as ``YYYY-MM-DD``, refused with a sentence
    when it lies more than ``DATE_YEARS`` years before or after ``today``: every transport's
    dates come through here, so none stores a date that only a calendar's edge can hold."""
    day = parse_day(value)
    years = int(DATE_YEARS.default)
    first, last = _years_from(today, -years), _years_from(today, years)
    if not first <= day <= last:
        raise UsageError(f"{what} {day.isoformat()} is more than {years} years from today "
                         f"({today.isoformat()}): give a date from {first.isoformat()} to {last.isoformat()}")
    return day.isoformat()


def _years_from(day: date, years: int) -> date:
    """The same day ``years`` later (or earlier); 29 February becomes the 28th; past the calendar's
    ends, its first or last day."""
    year = day.year + years
    if year < 1 or year > 9999:
        return date.min if year < 1 else date.max
    return day.replace(year=year, day=28) if (day.month, day.day) == (2, 29) else day.replace(year=year)


def stored_day(value: str | None) -> date | None:
    """A stored ``YYYY-MM-DD`` as a date; None for none, or for text that is not a date (a read
    shows what is stored rather than fail on it)."""
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except (ValueError, TypeError):
        return None


def _instant(at: str) -> datetime:
    return datetime.fromisoformat(at.replace("Z", "+00:00"))


def stored(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")[:-6] + "Z"


def _moved(moment: datetime, delta: timedelta) -> datetime:
    """``moment + delta``, held at the calendar's first or last moment instead of overflowing."""
    try:
        return moment + delta
    except OverflowError:
        return LAST_MOMENT if delta > timedelta(0) else FIRST_MOMENT


def add_working_days(start: date, days: int, calendar: str | None) -> date:
    """The ``days``-th working day after ``start`` (``start`` itself not counted); the calendar's
    last day (9999-12-31) if it would lie past it."""
    is_working = working_day(calendar)
    day, left = start, days
    for _ in range(MAX_DAYS):
        if left <= 0 or day == date.max:
            return day
        day += ONE_DAY
        if is_working(day):
            left -= 1
    raise UsageError(f"calendar {calendar} has no working days")  # pragma: no cover (no such calendar)


def working_days_in(first: date, end: date, calendar: str | None) -> int:
    """How many working days lie in ``first`` .. ``end - 1`` (of a longer span than :data:`HORIZON`,
    those of its first HORIZON): weekdays by arithmetic, less the calendar's holidays year by year."""
    if end <= first:
        return 0
    if end - first > HORIZON:
        end = first + HORIZON
    return _working_days(first, end - ONE_DAY, calendar)


def _working_days(first: date, last: date, calendar: str | None) -> int:
    """How many working days lie in ``first`` .. ``last`` (both counted; ``first <= last``)."""
    weeks, rest = divmod((last - first).days + 1, 7)
    start = first.weekday()
    count = 5 * weeks + sum(1 for n in range(rest) if (start + n) % 7 < 5)
    if calendar is None:
        return count
    return count - sum(1 for year in range(first.year, last.year + 1)
                       for day in _days_off(calendar, year) if first <= day <= last)


@lru_cache(maxsize=512)
def _days_off(code: str, year: int) -> frozenset[date]:
    """The weekdays of ``year`` that are not working days in calendar ``code`` (its public holidays)."""
    import holidays

    country, subdivision = _calendar_parts(code)
    is_working = working_day(code)
    years = [y for y in (year - 1, year, year + 1) if 1 <= y <= 9999]  # an observed day may cross a year
    listed = holidays.country_holidays(country, subdiv=subdivision, years=years)
    return frozenset(d for d in listed if d.year == year and d.weekday() < 5 and not is_working(d))


def due_on(started_at: str, span: str, calendar: str | None) -> str:
    """The due date of a round that started at ``started_at`` and may take ``span``."""
    count, unit = parse_span(span)
    start = _instant(started_at)
    if unit == "h":
        return _moved(start, timedelta(hours=count)).date().isoformat()
    return add_working_days(start.date(), count, calendar).isoformat()


def end_of(day: str) -> str:
    """The stored time at which a due date has passed."""
    return f"{day}T23:59:59.999999Z"


def after(at: str, span: str, calendar: str | None) -> str:
    """The moment ``span`` after ``at``: N hours later, or N working days later at the same time."""
    count, unit = parse_span(span)
    start = _instant(at)
    if unit == "h":
        return stored(_moved(start, timedelta(hours=count)))
    day = add_working_days(start.date(), count, calendar)
    return stored(datetime.combine(day, start.timetz()))


def round_starts(entered_at: str, starts_on: str | None) -> str:
    """When a round's clock starts: when it was entered, or the project's start date if later."""
    if starts_on is not None and entered_at < starts_on:
        return f"{starts_on}T00:00:00.000000Z"
    return entered_at


def shift_for_hold(due: str | None, opened: str | None, held_at: str, resumed_at: str,
                   calendar: str | None) -> tuple[str | None, str | None]:
    """The due date and gate-opened moment after a hold from ``held_at`` to ``resumed_at``."""
    lost = working_days_in(_instant(held_at).date(), _instant(resumed_at).date(), calendar)
    day = stored_day(due)
    new_due = due if day is None else add_working_days(day, lost, calendar).isoformat()
    new_opened = None if opened is None else stored(
        _moved(_instant(opened), _instant(resumed_at) - _instant(held_at)))
    return new_due, new_opened


def days_left(due: str, today: date, calendar: str | None) -> int | None:
    """Working days from ``today`` to the due date (0: due today; negative: overdue by that many);
    None when the two lie more than :data:`HORIZON` apart (or the stored date is not one)."""
    end = stored_day(due)
    if end is None or abs(end - today) > HORIZON:
        return None
    if end >= today:
        return 0 if end == today else _working_days(today + ONE_DAY, end, calendar)
    return -_working_days(end + ONE_DAY, today, calendar)


ORDINAL_EPOCH = date(2000, 1, 3)  # a Monday


def ordinal(day: str, calendar: str | None) -> int:
    """The working-day number of ``day`` (``YYYY-MM-DD``, or a stored time: its day): how many
    working days lie from 2000-01-03 up to it, not counting it (negative before). The working days
    in ``a`` .. ``b - 1`` (``working_days_in``) are ``ordinal(b) - ordinal(a)``: the insights store
    ordinals so a phase's working days are a subtraction in SQL (domain/insights)."""
    return _ordinal(day[:10], calendar)


@lru_cache(maxsize=8192)
def _ordinal(day: str, calendar: str | None) -> int:
    at = date.fromisoformat(day)
    if at >= ORDINAL_EPOCH:
        return 0 if at == ORDINAL_EPOCH else _working_days(ORDINAL_EPOCH, at - ONE_DAY, calendar)
    return -_working_days(at, ORDINAL_EPOCH - ONE_DAY, calendar)

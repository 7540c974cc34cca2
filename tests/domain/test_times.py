"""Time arguments (`--since`, `--until`, `status --at`): parsed and bounded in one place,
refused with a sentence outside what the store holds, and normalised to fixed-width text
whose text order is the instants' order (stored times are compared as text in SQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.cli_runs import cli_runner

from workflow import Engine
from workflow.domain import inputs
from workflow.errors import NotFound, UsageError
from workflow.storage.database import utcnow

SETTINGS = {"deadline": None, "derandomize": True, "database": None}
OUT_OF_RANGE = [
    "0001-01-01T00:00+01:00",
    "0001-01-01T00:59:59.999999+01:00",
    "9999-12-31T23:59:59-01:00",
    "9999-12-31T23:00:00-01:00",
]


def test_utcnow_is_in_the_stored_form() -> None:
    assert inputs.STORED_TIME_RE.fullmatch(utcnow())


@pytest.mark.parametrize(
    ("given_", "stored"),
    [
        ("0999-01-01", "0999-01-01T00:00:00.000000Z"),
        ("0001-01-01", "0001-01-01T00:00:00.000000Z"),
        ("0001-01-01T00:00-01:00", "0001-01-01T01:00:00.000000Z"),
        ("9999-12-31T23:59:59.999999Z", "9999-12-31T23:59:59.999999Z"),
        ("9999-12-31T23:59:59+01:00", "9999-12-31T22:59:59.000000Z"),
        ("2026-11-28T14:30Z", "2026-11-28T14:30:00.000000Z"),
        ("2026-11-28 14:30:00.5+05:30", "2026-11-28T09:00:00.500000Z"),
    ],
)
def test_times_are_stored_as_fixed_width_utc_with_four_digit_years(given_: str, stored: str) -> None:
    assert inputs.normalize_time(given_) == stored


@pytest.mark.parametrize("value", OUT_OF_RANGE)
def test_a_time_outside_years_1_to_9999_in_utc_is_refused_with_a_sentence(value: str) -> None:
    with pytest.raises(UsageError, match="outside the times phasegate can store"):
        inputs.normalize_time(value)


@pytest.mark.parametrize("value", ["", "yesterday", "2026-13-01", "2026-11-28T25:00", "0000-01-01", 20261128])
def test_what_is_not_an_iso_time_is_refused_with_a_sentence(value: object) -> None:
    with pytest.raises(UsageError, match="is not an ISO 8601 time"):
        inputs.normalize_time(value)  # type: ignore[arg-type]


def test_a_year_below_1000_sorts_before_this_year_as_text() -> None:
    assert inputs.normalize_time("0999-01-01") < utcnow()


# -- properties --------------------------------------------------------------------------------

OFFSETS = st.one_of(
    st.none(),
    st.just(UTC),
    st.builds(
        timezone,
        st.timedeltas(min_value=timedelta(hours=-23, minutes=-59), max_value=timedelta(hours=23, minutes=59)),
    ),
)
TIMES = st.builds(
    lambda naive, tz: naive if tz is None else naive.replace(tzinfo=tz),
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59, 999999)),
    OFFSETS,
)


def written(moment: datetime, sep: str, spec: str) -> str:
    """``moment`` as a person might write it."""
    return moment.isoformat(sep=sep, timespec=spec)


def instant(moment: datetime) -> datetime | None:
    """The UTC instant (a naive time counts as UTC), or None when it lies outside years 1-9999."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    try:
        return aware.astimezone(UTC)
    except OverflowError:
        return None


WRITTEN = st.tuples(TIMES, st.sampled_from(["T", " "]), st.sampled_from(["microseconds", "milliseconds",
                                                                         "seconds", "minutes"]))


@settings(max_examples=1500, **SETTINGS)
@given(WRITTEN, WRITTEN)
@pytest.mark.slow
def test_accepted_times_normalise_to_fixed_width_text_ordered_like_their_instants(
    a: tuple[datetime, str, str], b: tuple[datetime, str, str]
) -> None:
    results = []
    for moment, sep, spec in (a, b):
        text = written(moment, sep, spec)
        parsed = datetime.fromisoformat(text)  # what the written text means (may drop digits)
        expected = instant(parsed)
        if expected is None:
            with pytest.raises(UsageError):
                inputs.normalize_time(text)
            return
        stored = inputs.normalize_time(text)
        assert inputs.STORED_TIME_RE.fullmatch(stored), stored
        assert len(stored) == len(inputs.EARLIEST_TIME)
        assert datetime.fromisoformat(stored) == expected
        results.append((expected, stored))
    (ia, ta), (ib, tb) = results
    assert (ia < ib) == (ta < tb)
    assert (ia == ib) == (ta == tb)


@settings(max_examples=1500, **SETTINGS)
@given(st.text(alphabet="0123456789-+:.TZ W", max_size=32) | st.text(max_size=40))
@pytest.mark.slow
def test_any_text_is_refused_with_a_sentence_or_stored_in_the_fixed_form(text: str) -> None:
    try:
        stored = inputs.normalize_time(text)
    except UsageError as exc:
        assert str(exc)
    else:
        assert inputs.STORED_TIME_RE.fullmatch(stored)
        assert inputs.EARLIEST_TIME <= stored <= inputs.LATEST_TIME


# -- through the engine --------------------------------------------------------------------------


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    with Engine(db_url) as e:
        e.init(admin="ana")
        e.create_project("P-1", template="team-based", actor="ana")
        yield e


def test_history_since_a_year_below_1000_finds_every_event(engine: Engine) -> None:
    everything = engine.history("P-1")
    assert everything
    assert engine.history("P-1", since="0999-01-01") == everything
    assert engine.history("P-1", until="0999-01-01") == []


def test_status_at_a_year_below_1000_is_before_the_project_existed(engine: Engine) -> None:
    with pytest.raises(NotFound, match="did not exist yet"):
        engine.status_at("P-1", "0999-01-01")


@pytest.mark.parametrize("value", OUT_OF_RANGE)
def test_every_time_argument_refuses_a_time_the_store_cannot_hold(engine: Engine, value: str) -> None:
    for call in (
        lambda: engine.history("P-1", since=value),
        lambda: engine.history("P-1", until=value),
        lambda: engine.status_at("P-1", value),
    ):
        with pytest.raises(UsageError, match="outside the times phasegate can store"):
            call()


@pytest.mark.parametrize("args", [["history", "P-1", "--since"], ["history", "P-1", "--until"],
                                  ["project", "status", "P-1", "--at"]])
def test_the_cli_answers_an_out_of_range_time_with_exit_2_and_a_sentence(
    engine: Engine, db_url: str, args: list[str]
) -> None:
    result = cli_runner(db_url)(*args, "0001-01-01T00:00+01:00")
    assert result.exit_code == 2, result.output
    assert "Error: " in result.stderr and "outside the times phasegate can store" in result.stderr
    assert "Traceback" not in result.output + result.stderr

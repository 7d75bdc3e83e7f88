import pytest
from standins.sources import config
from standins.sources.errors import EstateError


@pytest.mark.parametrize("bad", [0, -0.1, 1.5, "abc", None, float("nan"), True])
def test_bad_scale_is_a_one_line_error_naming_the_value(bad: object) -> None:
    with pytest.raises(EstateError) as err:
        config.validate_scale(bad)
    message = str(err.value)
    assert "\n" not in message
    assert "scale" in message and repr(bad) in message


@pytest.mark.parametrize("good", [1, 1.0, 0.001, "0.5"])
def test_good_scale(good: object) -> None:
    assert 0 < config.validate_scale(good) <= 1


@pytest.mark.parametrize("bad", [-1, "x", 1.5])
def test_bad_seed(bad: object) -> None:
    with pytest.raises(EstateError, match="seed"):
        config.validate_seed(bad)


def test_tenants_by_count_and_name() -> None:
    assert config.resolve_tenants(2) == ("bu_north", "bu_south")
    assert config.resolve_tenants(["bu_south", "bu_north"]) == ("bu_north", "bu_south")
    with pytest.raises(EstateError, match="tenants"):
        config.resolve_tenants(["nope"])
    with pytest.raises(EstateError, match="tenants"):
        config.resolve_tenants(9)


@pytest.mark.parametrize("n", [1, 2, 3, 8])
def test_regions_are_partitioned_over_tenants(n: int) -> None:
    tenants = config.resolve_tenants(n)
    served = [r.region_id for t in tenants for r in config.tenant_regions(t, tenants)]
    assert sorted(served) == list(range(1, 9))


def test_scale_one_means_full_volumes() -> None:
    vol = config.volumes(1.0, 2)
    assert vol.jobs * 2 == config.FULL_SCALE_JOBS
    assert vol.gps_events_per_day * 2 == config.FULL_SCALE_GPS_EVENTS_PER_DAY


def test_microsecond_round_trip() -> None:
    assert config.to_us(config.from_us(1_767_225_600_123_457)) == 1_767_225_600_123_457


def test_scale_errors_name_the_design_not_a_document() -> None:
    with pytest.raises(EstateError, match="the design's volumes"):
        config.validate_scale(2)


def test_an_estate_starts_at_the_midnight_its_history_needs_to_end_now() -> None:
    from datetime import UTC, datetime, timedelta

    now = datetime(2026, 12, 7, 1, 23, 45, tzinfo=UTC)
    start = config.from_us(config.start_for(now, 90))
    assert start == datetime(2026, 9, 8, tzinfo=UTC)
    assert now - start < timedelta(days=91)
    assert config.from_us(config.grid_floor_us(now)) == datetime(2026, 12, 7, 1, 20, tzinfo=UTC)


def test_the_start_is_the_estates_for_the_block_only() -> None:
    from concurrent.futures import ThreadPoolExecutor
    from contextvars import copy_context
    from datetime import UTC, datetime

    summer = config.to_us(datetime(2026, 6, 1, tzinfo=UTC))
    assert config.start_us() == config.EPOCH_US  # outside any estate: the reference start
    with config.estate_start(summer):
        assert config.start() == datetime(2026, 6, 1, tzinfo=UTC)
        assert config.start_weekday() == 0  # a Monday
        with ThreadPoolExecutor(1) as pool:
            assert pool.submit(copy_context().run, config.start_us).result() == summer
    assert config.start_us() == config.EPOCH_US
    with pytest.raises(EstateError, match="midnight"), config.estate_start(summer + 1):
        pass


def test_local_times_follow_the_real_calendar_of_the_start() -> None:
    import numpy as np
    from standins.sources import timeline

    new_york = timeline.tz_index(["America/New_York"])
    with config.estate_start(config.EPOCH_US):  # January: standard time
        winter = timeline.utc_offset_minutes(new_york, np.array([0]))
    june = config.to_us(config.from_us(config.EPOCH_US).replace(month=6))
    with config.estate_start(june):  # June: daylight saving time
        summer = timeline.utc_offset_minutes(new_york, np.array([0]))
    assert (int(winter[0]), int(summer[0])) == (-300, -240)

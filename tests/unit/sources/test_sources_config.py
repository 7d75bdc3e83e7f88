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

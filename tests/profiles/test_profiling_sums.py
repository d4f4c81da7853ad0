"""`profiling.sum_counts` (with its fast path for plain ints) adds up exactly as the rule says:
each amount through `_added` (to the cent, junk skipped, a junk total started over)."""

from hypothesis import given
from hypothesis import strategies as st

from profiles.services import profiling


def _reference(counts):
    total = {}
    for count in counts:
        for name, value in count.items():
            if profiling._is_amount(value):
                total[name] = profiling._added(total.get(name, 0), value)
    return total


AMOUNTS = (st.integers(-2 * 10**12, 2 * 10**12) | st.integers() | st.booleans() | st.none()
           | st.floats() | st.text(max_size=3) | st.sampled_from([10**12, -(10**12), 10**12 + 1]))


@given(st.lists(st.dictionaries(st.sampled_from(["a", "b", "c"]), AMOUNTS, max_size=3),
                max_size=5))
def test_sums_as_each_amount_through_added(counts):
    got, expected = profiling.sum_counts(counts), _reference(counts)
    assert got == expected
    assert {k: type(v) for k, v in got.items()} == {k: type(v) for k, v in expected.items()}


def test_a_total_beyond_the_limit_starts_over_as_before():
    counts = [{"a": 10**12}, {"a": 10**12}, {"a": 5}]
    assert profiling.sum_counts(counts) == _reference(counts) == {"a": 5}

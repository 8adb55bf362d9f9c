"""Slot allocation: free call slots shared between orgs in proportion to their limits."""

from hypothesis import given
from hypothesis import strategies as st

from campaigns.voice.dispatch import slots_allocate


def test_everyone_gets_their_room_when_slots_are_plenty():
    assert slots_allocate(100, {1: (10, 3), 2: (5, 0)}) == {1: 7, 2: 5}


def test_slots_follow_the_limits_floor_first_then_largest_remainder():
    # 10 slots, limits 5:3:2 -> exactly 5, 3, 2
    assert slots_allocate(10, {1: (50, 0), 2: (30, 0), 3: (20, 0)}) == {1: 5, 2: 3, 3: 2}
    # 7 slots: shares 3.5, 2.1, 1.4 -> floors 3, 2, 1 and the one left goes to the .5
    assert slots_allocate(7, {1: (50, 0), 2: (30, 0), 3: (20, 0)}) == {1: 4, 2: 2, 3: 1}


def test_an_org_near_its_limit_gets_its_room_and_the_rest_goes_to_the_others():
    # org 1's share would be 5 but it has room for 1; the other 9 go to org 2 (room 20)
    assert slots_allocate(10, {1: (10, 9), 2: (10, 0)}) == {1: 1, 2: 9}


def test_a_full_org_gets_nothing_and_no_slots_means_nothing():
    assert slots_allocate(5, {1: (10, 10), 2: (10, 0)}) == {1: 0, 2: 5}
    assert slots_allocate(0, {1: (10, 0)}) == {1: 0}
    assert slots_allocate(-3, {1: (10, 0)}) == {1: 0}


def test_ties_go_to_the_larger_limit_then_the_lower_id():
    assert slots_allocate(1, {1: (10, 0), 2: (10, 0)}) == {1: 1, 2: 0}
    # 2 slots, shares 0.5, 1.0, 0.5: org 2 gets its whole one, org 1 wins the tie with 3
    assert slots_allocate(2, {1: (2, 0), 2: (4, 0), 3: (2, 0)}) == {1: 1, 2: 1, 3: 0}


orgs = st.dictionaries(
    st.integers(1, 50),
    st.tuples(st.integers(1, 10_000), st.integers(0, 12_000)),
    min_size=1,
    max_size=12,
)


@given(free=st.integers(-5, 20_000), orgs=orgs)
def test_no_org_ever_exceeds_its_room_and_the_total_is_what_can_be_used(free, orgs):
    alloc = slots_allocate(free, orgs)
    rooms = {o: max(0, limit - active) for o, (limit, active) in orgs.items()}
    assert set(alloc) == set(orgs)
    assert all(0 <= alloc[o] <= rooms[o] for o in orgs)
    assert sum(alloc.values()) == min(max(free, 0), sum(rooms.values()))


@given(free=st.integers(1, 5_000), orgs=orgs)
def test_uncapped_orgs_get_their_proportional_share_rounded_by_largest_remainder(free, orgs):
    alloc = slots_allocate(free, orgs)
    rooms = {o: max(0, limit - active) for o, (limit, active) in orgs.items()}
    uncapped = [o for o in orgs if 0 < alloc[o] < rooms[o] or (alloc[o] == 0 and rooms[o] > 0)]
    if not uncapped or sum(rooms.values()) <= free:
        return
    given_to_them = sum(alloc[o] for o in uncapped)
    weight = sum(orgs[o][0] for o in uncapped)
    for o in uncapped:
        exact = given_to_them * orgs[o][0] / weight
        assert abs(alloc[o] - exact) < 1 + 1e-9  # within one slot of its exact share

"""A live training borrows idle cores and gives them back: SpareCores on a scripted machine."""
from __future__ import annotations

import pytest

from studio import spare_cores
from studio.spare_cores import CALM_WINDOWS, SpareCores


class Machine:
    """A clock and two CPU counters the test moves by hand: everything's, and this process's."""

    def __init__(self):
        self.now, self.busy, self.own = 0.0, 0.0, 0.0

    def run(self, seconds: float, own_cores: float, other_cores: float) -> None:
        self.now += seconds
        self.own += own_cores * seconds
        self.busy += (own_cores + other_cores) * seconds

    def cores(self, least=1, most=2, cores=2) -> SpareCores:
        return SpareCores(least, most, window=0.25, busy=lambda: self.busy, own=lambda: self.own,
                          clock=lambda: self.now, cores=cores)


def test_an_idle_machine_lends_its_cores_after_quiet_windows_and_takes_them_back_at_once():
    m = Machine()
    cores = m.cores()
    assert cores.threads() == 1                     # starts on its own thread
    for _ in range(CALM_WINDOWS - 1):
        m.run(0.3, own_cores=1, other_cores=0.05)
        assert cores.threads() == 1                 # not yet: one quiet window is not enough
    m.run(0.3, own_cores=1, other_cores=0.05)
    assert cores.threads() == 2
    m.run(0.3, own_cores=2, other_cores=0.0)        # its own two threads are not "someone else"
    assert cores.threads() == 2
    m.run(0.3, own_cores=1.1, other_cores=0.9)      # a student presses Generate
    assert cores.threads() == 1 and cores.others == pytest.approx(0.9)
    m.run(0.3, own_cores=1, other_cores=0.0)        # quiet again: one window does not bring it back
    assert cores.threads() == 1


def test_a_background_trickle_still_leaves_the_core_but_a_quarter_core_does_not():
    m = Machine()
    trickle = m.cores()
    for _ in range(CALM_WINDOWS):
        m.run(0.3, own_cores=1, other_cores=0.1)
        trickle.threads()
    assert trickle.threads() == 2
    m2 = Machine()
    quarter = m2.cores()
    for _ in range(CALM_WINDOWS + 2):
        m2.run(0.3, own_cores=1, other_cores=0.3)
        quarter.threads()
    assert quarter.threads() == 1


def test_between_windows_the_decision_stands_and_limits_hold():
    m = Machine()
    cores = m.cores(most=4, cores=4)
    for _ in range(2 * CALM_WINDOWS):
        m.run(0.3, own_cores=cores.current, other_cores=0.0)
        cores.threads()
    assert cores.threads() == 3                     # one thread more per CALM_WINDOWS quiet windows
    m.run(0.1, own_cores=3, other_cores=4.0)        # inside the window: not re-decided
    assert cores.threads() == 3
    for _ in range(10):
        m.run(0.3, own_cores=cores.current, other_cores=0.0)
        cores.threads()
    assert cores.threads() == 4                     # never more than `most`
    m.run(0.3, own_cores=4, other_cores=3.0)
    assert cores.threads() == 1                     # never fewer than `least`, however busy
    fixed = m.cores(least=1, most=1)
    m.run(5, own_cores=1, other_cores=0)
    assert fixed.threads() == 1


def test_unreadable_counters_borrow_nothing():
    m = Machine()
    cores = SpareCores(1, 2, busy=lambda: None, own=lambda: m.own, clock=lambda: m.now, cores=2)
    for _ in range(5):
        m.run(0.3, own_cores=1, other_cores=0)
        assert cores.threads() == 1


def test_a_containers_quota_caps_the_cores(tmp_path, monkeypatch):
    (tmp_path / "cpu.max").write_text("100000 100000\n")
    monkeypatch.setattr(spare_cores, "CGROUP", tmp_path)
    assert spare_cores.available_cores() == 1
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert spare_cores.available_cores() >= 1
    (tmp_path / "cpu.stat").write_text("usage_usec 2500000\nuser_usec 2000000\n")
    assert spare_cores.busy_cpu_seconds() == pytest.approx(2.5)


def test_this_machines_counters_read():
    busy = spare_cores.busy_cpu_seconds()
    assert busy is None or busy > 0

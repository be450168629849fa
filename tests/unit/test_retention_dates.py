"""When an ended case is deleted (chalicelib/domain/retention.py)."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from chalicelib.domain.case import ENDED, OPEN, Status
from chalicelib.domain.retention import (case_expiry, deletion_date, expiry_epoch, expiry_instant, is_ttl_removal,
                                         retention_start)


def start(status, *, on="2027-03-26", appeal=None, window=None):
    ending = {"kind": status, "on": on} if status in {s.value for s in ENDED} else None
    decision = {"outcome": "not_met", "decided_on": on} if status == "threshold_not_met" else None
    return retention_start(status, ending=ending, decision=decision, appeal=appeal, appeal_window_closes=window)


@pytest.mark.parametrize("status", sorted(s.value for s in ENDED))
def test_an_ended_case_is_kept_from_its_ending(status):
    assert start(status) == date(2027, 3, 26)


@pytest.mark.parametrize("status", sorted(s.value for s in OPEN))
def test_an_open_case_never_expires(status):
    assert start(status, window="2027-04-30") is None
    assert case_expiry(status, ending=None, decision=None, appeal=None, appeal_window_closes=None, legal_hold=None,
                       retention_years=6) == (None, None)


def test_a_threshold_not_met_decision_runs_from_the_last_day_to_appeal_it():
    assert start("threshold_not_met", on="2027-03-26", window="2027-04-23") == date(2027, 4, 23)


def test_an_ending_without_its_date_is_kept_rather_than_guessed():
    assert retention_start("closed", ending={"kind": "closed"}, decision=None, appeal=None,
                           appeal_window_closes=None) is None


@pytest.mark.parametrize("appeal_status", ["lodged", "acknowledged"])
def test_a_case_under_appeal_never_expires_mid_appeal(appeal_status):
    appeal = {"status": appeal_status, "lodged_on": "2027-04-01"}
    assert start("rejected", appeal=appeal, window="2027-04-23") is None
    assert start("closed", appeal=appeal, window="2027-04-23") is None


def test_an_appeal_not_upheld_restarts_the_clock_from_its_decision_and_the_spent_window_no_longer_counts():
    appeal = {"status": "not_upheld", "lodged_on": "2027-04-01", "decided_on": "2027-05-04"}
    assert start("rejected", appeal=appeal, window="2027-06-30") == date(2027, 5, 4)


def test_after_an_upheld_appeal_the_new_endings_window_counts():
    appeal = {"status": "upheld", "decided_on": "2027-05-04"}
    assert start("closed", on="2027-09-01", appeal=appeal, window="2027-09-29") == date(2027, 9, 29)


def test_the_window_counts_only_when_it_is_later_than_the_ending():
    assert start("closed", on="2027-03-26", window="2027-03-01") == date(2027, 3, 26)


@pytest.mark.parametrize("ended, years, deleted", [
    (date(2027, 3, 26), 6, date(2033, 3, 27)),  # Good Friday 2027: calendar years, holidays do not matter
    (date(2027, 3, 29), 6, date(2033, 3, 30)),  # Easter Monday
    (date(2026, 12, 25), 6, date(2032, 12, 26)),  # Christmas Day
    (date(2026, 12, 31), 1, date(2028, 1, 1)),  # New Year's Eve: deleted on New Year's Day
    (date(2027, 1, 31), 6, date(2033, 2, 1)),  # end of January
    (date(2028, 2, 29), 1, date(2029, 3, 1)),  # 29 February's anniversary is 28 February in a common year
    (date(2028, 2, 29), 4, date(2032, 3, 1)),  # and 29 February in a leap year
    (date(2027, 2, 28), 1, date(2028, 2, 29)),  # 28 February + 1 year, then the next day: 29 Feb 2028
    (date(2027, 8, 31), 6, date(2033, 9, 1)),  # end of August
    (date(2027, 3, 26), 20, date(2047, 3, 27)),
])
def test_the_deletion_date_is_the_day_after_the_retention_period(ended, years, deleted):
    assert deletion_date(ended, years) == deleted


def test_a_legal_hold_or_no_start_means_no_deletion_date():
    assert deletion_date(date(2027, 3, 26), 6, held=True) is None
    assert deletion_date(None, 6) is None


@pytest.mark.parametrize("day, utc", [
    (date(2033, 3, 27), datetime(2033, 3, 27, 0, 0, tzinfo=timezone.utc)),  # 27 March 2033 is a Sunday: still GMT at 00:00
    (date(2033, 7, 1), datetime(2033, 6, 30, 23, 0, tzinfo=timezone.utc)),  # British Summer Time
    (date(2033, 1, 1), datetime(2033, 1, 1, 0, 0, tzinfo=timezone.utc)),
])
def test_the_ttl_is_midnight_in_london_on_the_deletion_date(day, utc):
    assert expiry_instant(day) == utc
    assert expiry_epoch(expiry_instant(day)) == int(utc.timestamp())
    assert expiry_instant(None) is None and expiry_epoch(None) is None


def test_case_expiry_combines_them_and_a_hold_wins():
    args = dict(ending={"kind": "withdrawn", "on": "2027-08-31"}, decision=None, appeal=None, appeal_window_closes=None,
                retention_years=6)
    on, instant = case_expiry(Status.WITHDRAWN.value, legal_hold=None, **args)
    assert on == date(2033, 9, 1) and instant == datetime(2033, 8, 31, 23, 0, tzinfo=timezone.utc)
    assert case_expiry("withdrawn", legal_hold={"since": "2030-01-01", "reason": "claim"}, **args) == (None, None)


def test_only_ttl_removals_are_recognised():
    ttl = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    assert is_ttl_removal({"eventName": "REMOVE", "userIdentity": ttl})
    assert not is_ttl_removal({"eventName": "REMOVE"})  # deleted by an application
    assert not is_ttl_removal({"eventName": "MODIFY", "userIdentity": ttl})
    assert not is_ttl_removal({"eventName": "REMOVE", "userIdentity": {"type": "Service", "principalId": "other"}})

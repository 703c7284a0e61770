"""One type for every problem a check returns as data; each use prints it its own way."""

from __future__ import annotations

from ledger.problems import Problem


def test_a_problem_of_the_log_prints_as_ledger_verify_prints_it() -> None:
    at = Problem("log", "altered", "position 7", "the event's bytes changed", 7, "abc")
    nowhere = Problem("log", "bad_signature", "log", "the signature does not match")
    assert at.line() == "altered: position 7 (record abc): the event's bytes changed"
    assert nowhere.line() == "bad_signature: log: the signature does not match"


def test_a_problem_of_the_log_answers_the_json_of_the_verification() -> None:
    at = Problem("log", "missing", "position 3", "gone", 3, None)
    assert list(at.to_json().items()) == [
        ("kind", "missing"),
        ("position", 3),
        ("record_id", None),
        ("detail", "gone"),
    ]


def test_a_problem_of_a_read_model_prints_as_ledger_projections_check_prints_it() -> None:
    problem = Problem("journal", "mismatch", "2015/DA2/city_budget", "committed 1 ≠ 2")
    assert str(problem) == "journal: mismatch at 2015/DA2/city_budget: committed 1 ≠ 2"

"""Problems as editors read them: `file:line: message (fix)`, sorted, each once."""

from __future__ import annotations

from ihv_archive.problems import Problem, ProblemsFound, did_you_mean


def test_a_problem_reads_as_file_line_message_and_fix() -> None:
    assert str(Problem("a.md", 3, "title: empty", "write it")) == "a.md:3: title: empty (write it)"
    assert str(Problem("a.md", None, "is empty")) == "a.md: is empty"


def test_problems_are_sorted_by_file_then_line_and_listed_once() -> None:
    found = ProblemsFound(
        [
            Problem("b.md", 2, "x"),
            Problem("a.md", 9, "y"),
            Problem("a.md", None, "z"),
            Problem("b.md", 2, "x"),
        ]
    )
    assert [str(p) for p in found.problems] == ["a.md: z", "a.md:9: y", "b.md:2: x"]


def test_did_you_mean_offers_a_close_word_only() -> None:
    assert did_you_mean("safeguardng", ["safeguarding", "policy"]) == "did you mean 'safeguarding'?"
    assert did_you_mean("gardening", ["safeguarding", "policy"]) == ""

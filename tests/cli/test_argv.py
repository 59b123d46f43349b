"""The argv rewrite that lets ``--tags a b`` and ``--flow-ids u1 u2`` take several values."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ziggy_migrate_cli._argv import ArgvError, expand_multi_value_options, split_values


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["flow", "export", "--tags", "tag1", "tag2", "--file-path", "out.json"],
            ["flow", "export", "--tags", "tag1", "--tags", "tag2", "--file-path", "out.json"],
        ),
        (["-t", "a", "b"], ["--tags", "a", "--tags", "b"]),
        (["-f", "u1", "u2", "-s", "dev"], ["--flow-ids", "u1", "--flow-ids", "u2", "-s", "dev"]),
        (["--flow-ids", "u1", "--tags", "x"], ["--flow-ids", "u1", "--tags", "x"]),
        (["--tags", "a", "--tags", "b"], ["--tags", "a", "--tags", "b"]),
        (["--tags=a", "b"], ["--tags=a", "b"]),  # = form: one value, Typer's business
        (["--tags=-dash"], ["--tags=-dash"]),
        (["--tags", "a,b"], ["--tags", "a,b"]),  # commas are split later
        (["--file-path", "x.json", "--no-prompt"], ["--file-path", "x.json", "--no-prompt"]),
        ([], []),
    ],
)
def test_expands_values_up_to_the_next_option(argv: list[str], expected: list[str]) -> None:
    assert expand_multi_value_options(argv) == expected


def test_nothing_after_the_terminator_is_touched() -> None:
    argv = ["--tags", "a", "--", "--tags", "b", "c", "-t"]
    assert expand_multi_value_options(argv) == ["--tags", "a", "--", "--tags", "b", "c", "-t"]


def test_a_value_that_looks_like_an_option_ends_the_list() -> None:
    assert expand_multi_value_options(["--tags", "a", "-x", "b"]) == ["--tags", "a", "-x", "b"]


@pytest.mark.parametrize("argv", [["--tags"], ["--tags", "--no-prompt"], ["-f", "-s", "dev"]])
def test_a_flag_without_a_value_is_an_error_not_a_swallowed_option(argv: list[str]) -> None:
    with pytest.raises(ArgvError, match="needs at least one value"):
        expand_multi_value_options(argv)


def test_the_error_message_says_how_to_pass_a_dash_value() -> None:
    with pytest.raises(ArgvError, match=r"--tags=VALUE"):
        expand_multi_value_options(["-t", "-odd"])


def test_split_values_splits_commas_drops_blanks_and_repeats() -> None:
    assert split_values(["a,b", " c ", "a", ",", ""]) == ["a", "b", "c"]
    assert split_values(None) == []


_VALUE = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1
).filter(lambda v: not v.startswith("-"))


@given(values=st.lists(_VALUE, min_size=1, max_size=6), flag=st.sampled_from(["--tags", "-t"]))
def test_every_value_gets_its_own_canonical_flag(values: list[str], flag: str) -> None:
    result = expand_multi_value_options(["export", flag, *values, "--no-prompt"])
    expected = ["export"]
    for value in values:
        expected += ["--tags", value]
    assert result == [*expected, "--no-prompt"]


@given(
    st.lists(
        st.one_of(_VALUE, st.sampled_from(["--tags", "-f", "--file-path", "-s", "--x"])),
        max_size=12,
    )
)
def test_rewriting_twice_changes_nothing_more(argv: list[str]) -> None:
    try:
        once = expand_multi_value_options(argv)
    except ArgvError:
        return
    assert expand_multi_value_options(once) == once

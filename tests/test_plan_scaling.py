"""Planning stays linear in the number of items (counted operations, never time)."""

from __future__ import annotations

from collections.abc import Iterator

from ziggy_migrate import Bundle, Flow, ImportMode, ItemKind, Provenance, SourceServer
from ziggy_migrate._engine.plan import TargetItem, free_name, make_plan


class CountingNames:
    """The taken names of a plan, counting every name it is asked about or walks over."""

    def __init__(self, names: set[str]) -> None:
        self.names = names
        self.visits = 0

    def __contains__(self, name: object) -> bool:
        self.visits += 1
        return name in self.names

    def __iter__(self) -> Iterator[str]:
        for name in self.names:
            self.visits += 1
            yield name

    def __len__(self) -> int:
        return len(self.names)

    def add(self, name: str) -> None:
        self.names.add(name)


def visits_to_rename(items: int) -> int:
    """Names visited to find a free name for each of ``items`` flows in duplicate mode,
    as the plan does: every bundle flow matches a target flow of its name."""
    names = [f"Flow {i:05d}" for i in range(items)]
    taken = CountingNames(set(names))
    for name in names:
        taken.add(free_name(name, taken))
    assert f"{names[-1]} (imported)" in taken.names
    return taken.visits


def test_finding_free_names_is_linear_in_the_items() -> None:
    small, large = visits_to_rename(1_000), visits_to_rename(10_000)
    assert small >= 1_000  # every item was looked up
    # ten times the items: about ten times the work (a copy of the taken names per item,
    # as before, made it a hundred times)
    assert large <= 12 * small, (small, large)


class CountingName(str):
    """A name that counts how often it is hashed (every set or dict built from names and
    every look-up of one hashes it again)."""

    hashes = 0

    def __hash__(self) -> int:
        CountingName.hashes += 1
        return str.__hash__(self)


def hashes_to_plan(items: int) -> int:
    """Name hashes spent planning a duplicate-mode import of ``items`` flows that all
    match a target flow by name."""
    names = [CountingName(f"Flow {i:05d}") for i in range(items)]
    bundle = Bundle(
        provenance=Provenance(
            source=SourceServer(url="http://dev.invalid:3000", name="dev"),
            tool_version="test",
            exported_at="2026-01-01T00:00:00Z",
        ),
        flows=tuple(
            Flow(uuid=f"20000000-0000-4000-8000-{i:012d}", name=name)
            for i, name in enumerate(names)
        ),
    )
    flows = [
        TargetItem(uuid=f"30000000-0000-4000-8000-{i:012d}", name=name, fingerprint="f", item=None)
        for i, name in enumerate(names)
    ]
    target: dict[ItemKind, list[TargetItem]] = {kind: [] for kind in ItemKind}
    target[ItemKind.FLOW] = flows
    CountingName.hashes = 0
    plan = make_plan(
        bundle, target, mode=ImportMode.DUPLICATE, target_url="http://prod", with_digest=False
    )
    assert plan.items[0].target_name == "Flow 00000 (imported)"
    assert len(plan.items) == items
    return CountingName.hashes


def test_planning_a_duplicate_import_hashes_each_name_a_bounded_number_of_times() -> None:
    small, large = hashes_to_plan(1_000), hashes_to_plan(10_000)
    assert small >= 1_000
    assert large <= 12 * small, (small, large)

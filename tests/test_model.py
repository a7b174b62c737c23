"""The hand-written conversions of model.py give what `dataclasses.asdict` gives, so a
field added later cannot be left out of what the caches store."""

from dataclasses import asdict, fields

from importguard.model import Finding, Hop, Plan, PlanEdit


def _finding() -> Finding:
    chain = (Hop("pkg", "pkg.ops", "pkg/__init__.py", 3), Hop("pkg.ops", "cutlass", "pkg/ops.py", 1, "via", "call"))
    return Finding("IG001", "init-reaches-cuda-sink", "pkg/__init__.py", 3, 1, "message", "fix", "cutlass", chain,
                   4, "blocker", "measured", extra=(("confirmation", "yes"),))


def test_finding_to_dict_is_asdict_without_extra() -> None:
    finding = _finding()
    expected = asdict(finding)
    del expected["extra"]
    assert finding.to_dict() == expected
    assert set(finding.to_dict()) == {f.name for f in fields(Finding)} - {"extra"}
    assert Finding.from_dict(finding.to_dict()) == finding


def test_plan_to_dict_is_asdict() -> None:
    plan = Plan((PlanEdit("pkg/ops.py", 1, "import", "`pkg.ops` imports `cutlass`", 2),), 2, True, "max-flow")
    assert plan.to_dict() == asdict(plan)
    assert {f.name for f in fields(PlanEdit)} == set(plan.to_dict()["edits"][0])
    assert Plan.from_dict(plan.to_dict()) == plan


def test_a_hop_at_another_path_is_what_replace_gives():
    """Hop.at_path spells out every field: a field added to Hop must be added there."""
    from dataclasses import fields, replace

    from importguard.model import Hop

    hop = Hop("a.b", "a.c", "/abs/a/b.py", 7, via="parent package of a.c.d", kind="call")
    assert [f.name for f in fields(Hop)] == ["importer", "imported", "path", "line", "via", "kind"]
    assert hop.at_path("a/b.py") == replace(hop, path="a/b.py")
    assert hop.at_path("/abs/a/b.py") is hop

"""Hand-written helpers of model.py stay equal to what dataclasses gives."""


def test_a_hop_at_another_path_is_what_replace_gives():
    """Hop.at_path spells out every field: a field added to Hop must be added there."""
    from dataclasses import fields, replace

    from importguard.model import Hop

    hop = Hop("a.b", "a.c", "/abs/a/b.py", 7, via="parent package of a.c.d", kind="call")
    assert [f.name for f in fields(Hop)] == ["importer", "imported", "path", "line", "via", "kind"]
    assert hop.at_path("a/b.py") == replace(hop, path="a/b.py")
    assert hop.at_path("/abs/a/b.py") is hop

"""``Dedup``: duplicate order ids across a run, batch by batch, with the ids on disk."""

from __future__ import annotations

from refundctl.orders.dedup import Dedup


def test_a_batch_of_new_ids_has_no_duplicates_and_is_remembered() -> None:
    dedup = Dedup()
    assert dedup.first_seen("a.jsonl", ["A", "B"], [1, 2]) == []
    found = dedup.first_seen("b.jsonl", ["C", "B", "D"], [1, 2, 3])
    assert [(index, str(problem)) for index, problem in found] == [
        (1, "b.jsonl:2: id: duplicate order id 'B' (first at a.jsonl:2)")
    ]
    # The refused batch was rolled back, then taken id by id: C and D are remembered, once.
    assert [
        str(p) for p in dedup.duplicates([("C", "c.jsonl", 9), ("D", "c.jsonl", 10), ("E", "c.jsonl", 11)]) if p
    ] == [
        "c.jsonl:9: id: duplicate order id 'C' (first at b.jsonl:1)",
        "c.jsonl:10: id: duplicate order id 'D' (first at b.jsonl:3)",
    ]
    dedup.close()


def test_an_id_twice_in_one_batch_is_a_duplicate_of_the_first() -> None:
    dedup = Dedup()
    found = dedup.first_seen("a.jsonl", ["A", "B", "A", "A"], [1, 2, 5, 7])
    assert [(index, str(problem)) for index, problem in found] == [
        (2, "a.jsonl:5: id: duplicate order id 'A' (first at a.jsonl:1)"),
        (3, "a.jsonl:7: id: duplicate order id 'A' (first at a.jsonl:1)"),
    ]
    dedup.close()


def test_the_same_input_read_twice_finds_every_id_again() -> None:
    dedup = Dedup()
    assert dedup.first_seen("a.jsonl", ["A", "B"], [1, 2]) == []
    found = dedup.first_seen("a.jsonl", ["A", "B"], [1, 2])
    assert [str(problem) for _, problem in found] == [
        "a.jsonl:1: id: duplicate order id 'A' (first at a.jsonl:1)",
        "a.jsonl:2: id: duplicate order id 'B' (first at a.jsonl:2)",
    ]
    dedup.close()


def test_both_ways_of_asking_give_the_same_messages() -> None:
    batches = [("a.jsonl", ["A", "B", "C"], [1, 2, 3]), ("b.jsonl", ["D", "A", "D"], [4, 5, 6])]
    whole, by_id = Dedup(), Dedup()
    for source, ids, lines in batches:
        fast = [str(problem) for _, problem in whole.first_seen(source, ids, lines)]
        slow = [
            str(p) for p in by_id.duplicates([(oid, source, line) for oid, line in zip(ids, lines, strict=True)]) if p
        ]
        assert fast == slow
        assert len(fast) == (2 if source == "b.jsonl" else 0)
    whole.close()
    by_id.close()

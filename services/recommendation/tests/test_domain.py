"""Pure rules: validation per the contract, ranking and the cold-start fill."""

import pytest

from recommendation.domain import fill, rank, validate_list, validate_purchase
from recommendation.errors import ValidationError


def fields(exc: pytest.ExceptionInfo[ValidationError]) -> list[str]:
    return [v.field for v in exc.value.violations]


def test_list_defaults_to_five_results() -> None:
    q = validate_list([], 0)
    assert q.max_results == 5 and q.exclude == frozenset()


@pytest.mark.parametrize("n", [-1, 21, 1000])
def test_list_rejects_max_results_out_of_range(n: int) -> None:
    with pytest.raises(ValidationError) as e:
        validate_list([], n)
    assert fields(e) == ["max_results"]


def test_list_names_each_malformed_exclude_id() -> None:
    with pytest.raises(ValidationError) as e:
        validate_list(["ok-1", "bad id", "", "x" * 65], 3)
    assert fields(e) == ["exclude_product_ids[1]", "exclude_product_ids[2]", "exclude_product_ids[3]"]


def test_list_rejects_more_than_100_excludes_and_bad_max_together() -> None:
    with pytest.raises(ValidationError) as e:
        validate_list([f"p{i}" for i in range(101)], 50)
    assert fields(e) == ["exclude_product_ids", "max_results"]


def test_purchase_sums_repeated_products() -> None:
    p = validate_purchase("order-1", [("a", 2), ("b", 1), ("a", 3)])
    assert p.quantities == {"a": 5, "b": 1}


@pytest.mark.parametrize(
    ("order_id", "items", "expected"),
    [
        ("", [("a", 1)], ["order_id"]),
        ("x" * 129, [("a", 1)], ["order_id"]),
        (" padded", [("a", 1)], ["order_id"]),
        ("o1", [], ["items"]),
        ("o1", [("a", 1)] * 101, ["items"]),
        ("o1", [("a", 0), ("b!", 1), ("c", 100)], ["items[0].quantity", "items[1].product_id", "items[2].quantity"]),
    ],
)
def test_purchase_violations(order_id: str, items: list[tuple[str, int]], expected: list[str]) -> None:
    with pytest.raises(ValidationError) as e:
        validate_purchase(order_id, items)
    assert fields(e) == expected


def test_rank_orders_by_count_then_id_and_drops_excluded() -> None:
    counts = [("c", 5), ("a", 9), ("b", 5), ("d", 1), ("z", 0)]
    assert rank(counts, frozenset({"d"}), 10) == [("a", 9), ("b", 5), ("c", 5)]
    assert rank(counts, frozenset(), 2) == [("a", 9), ("b", 5)]


def test_fill_tops_up_without_duplicates_or_excluded() -> None:
    assert fill(["b"], ["a", "b", "c", "d"], frozenset({"c"}), 3) == ["b", "a", "d"]
    assert fill(["a", "b"], ["c"], frozenset(), 2) == ["a", "b"]

"""The two RPCs as the feature's story; transport concerns (status codes, auth) live in server.py."""

from __future__ import annotations

import logging
from typing import Sequence

import grpc

from shop.common.v1 import money_pb2
from shop.recommendation.v1 import recommendation_pb2 as pb

from .catalog import CatalogClient, CatalogError, ProductInfo
from .domain import MAX_EXCLUDES, fill, rank, validate_list, validate_purchase
from .errors import UnavailableError
from .store import CountStore

log = logging.getLogger("recommendation")


class Handlers:
    """One method per RPC; each raises domain errors only."""

    def __init__(self, store: CountStore, catalog: CatalogClient) -> None:
        self._store = store
        self._catalog = catalog

    def list_recommendations(
        self,
        req: pb.ListRecommendationsRequest,
        deadline: float | None,
        metadata: Sequence[tuple[str, str]] = (),
    ) -> pb.ListRecommendationsResponse:
        """Best sellers not excluded, topped up from the catalog, with their catalog details."""
        q = validate_list(list(req.exclude_product_ids), req.max_results)
        try:
            counts = self._store.top(q.max_results + len(q.exclude))
        except UnavailableError:
            # Counts only order the list: without them, the catalog's own order still helps.
            log.warning("purchase store unavailable; recommending without counts")
            counts = []
        ranked = rank(counts, q.exclude, q.max_results)
        count_of = dict(ranked)
        ids = [pid for pid, _ in ranked]
        known: dict[str, ProductInfo] = {}
        if len(ids) < q.max_results:
            page = self._catalog.first_page(
                min(100, q.max_results + len(q.exclude) + len(ids)), deadline, metadata
            )
            known = {p.id: p for p in page}
            ids = fill(ids, [p.id for p in page], q.exclude, q.max_results)
        missing = [pid for pid in ids if pid not in known]
        for p in self._details(missing, deadline, metadata):
            known[p.id] = p
        return pb.ListRecommendationsResponse(
            recommendations=[
                pb.Recommendation(
                    product_id=pid,
                    name=known[pid].name,
                    price=money_pb2.Money(
                        currency_code=known[pid].currency_code, amount_minor=known[pid].amount_minor
                    ),
                    purchase_count=count_of.get(pid, 0),
                )
                for pid in ids
                if pid in known
            ]
        )

    def record_purchase(self, req: pb.RecordPurchaseRequest) -> pb.RecordPurchaseResponse:
        """Counts the order's items once per order_id; a repeat is a successful no-op."""
        purchase = validate_purchase(req.order_id, [(i.product_id, i.quantity) for i in req.items])
        counted = self._store.record(purchase)
        log.info("purchase %s", "recorded" if counted else "already recorded",
                 extra={"order_id": purchase.order_id})
        return pb.RecordPurchaseResponse()

    def _details(
        self, ids: list[str], deadline: float | None, metadata: Sequence[tuple[str, str]]
    ) -> list[ProductInfo]:
        if not ids:
            return []
        assert len(ids) <= MAX_EXCLUDES  # BatchGetProducts takes at most 100; we ask for <= 20
        try:
            return self._catalog.batch_get(ids, deadline, metadata)
        except CatalogError as e:
            if e.code != grpc.StatusCode.NOT_FOUND:
                raise
        # A counted product vanished from the catalog: fetch one by one and skip the gone ones.
        out: list[ProductInfo] = []
        for pid in ids:
            try:
                out.append(self._catalog.get(pid, deadline, metadata))
            except CatalogError as e:
                if e.code != grpc.StatusCode.NOT_FOUND:
                    raise
        return out

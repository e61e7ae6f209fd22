"""Every search use case besides a search itself, one line each: the command and its handler.

Handlers have one shape, `handler(cmd, deps)` (`unit_of_work.SearchDeps`), looked up by
`SearchService.handle`. Recording a purchase runs inside the unit of work of the consumer that
received the order's confirmation (`IN_UNIT_OF_WORK`, `handler_in(cmd, uow)`, through
`SearchService.handle_in`), so its inbox row and its counts commit together. Indexing runs in the
consumers' units of work too (`indexing.refresh_products`); a search is `SearchEngine.search`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from mercato.search.domain import commands
from mercato.search.service_layer import recommendations
from mercato.search.service_layer.unit_of_work import SearchDeps, SearchUnitOfWork

COMMAND_HANDLERS: dict[type[Any], Callable[[Any, SearchDeps], Awaitable[Any]]] = {
    commands.SimilarProducts: recommendations.similar_products,
    commands.BoughtTogether: recommendations.bought_together,
}

IN_UNIT_OF_WORK: dict[type[Any], Callable[[Any, SearchUnitOfWork], Awaitable[Any]]] = {
    commands.RecordPurchase: recommendations.record_purchase,
}

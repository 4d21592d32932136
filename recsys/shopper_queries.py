"""Recommendations for shoppers, the query side of ``HybridRecommender``: profiles, candidates,
ordering, rules, reasons, fallbacks.

``ShopperQueries`` answers from the model's ``HybridParts`` with the model's query settings
(``QueryOptions``); ``ranked`` holds the fit's precomputed candidate orders of known shoppers
(``recsys.precomputed``), when there are any.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from recsys.candidates import CandidateSet, assemble
from recsys.candidates_request import SeedLookup, candidates_one, neighbours_by_score
from recsys.filters import check_filter, check_k, positions
from recsys.parts import HybridParts
from recsys.precomputed import RankedLists, chosen_users, rank_users
from recsys.profiles import ProfileRow, merge_online
from recsys.reranker import source_order, source_order_of
from recsys.rules import BatchReason, Reason, Rules, check_cap, consumable_mask, pick
from recsys.session import event_weights_of
from recsys.sources import CANDIDATE_SOURCES
from recsys.types import ItemFilter, Recommendations, ScoredItem
from trees.batch import TreeScorer

BATCH = 256
_EMPTY = ProfileRow(np.zeros(0, np.int64), np.zeros(0), np.zeros(0, bool))


@dataclass(frozen=True)
class _Query:
    row: ProfileRow
    known_user: bool
    rules: Rules
    user_row: int | None = None  # the stored profile's row when no online events were merged


@dataclass(frozen=True)
class QueryOptions:
    """The model's settings that shape a query (``HybridRecommender``'s arguments of these names)."""

    per_source: int
    max_recent: int
    recent_half_life: float
    exclude_seen: bool
    consumable_categories: Sequence[str]
    event_weights: Mapping[str, float] | None


@dataclass
class ShopperQueries:
    """``recommend`` and its batch and evaluation forms over the fitted ``parts``.

    ``scorer`` gives the compiled re-ranker, or None to order candidates by ``order_source``.
    """

    parts: HybridParts
    options: QueryOptions
    order_source: str
    scorer: Callable[[], TreeScorer | None]
    ranked: RankedLists | None = None

    # ------------------------------------------------------------------ recommendations
    def recommend(
        self,
        *,
        user_id: str | None = None,
        history_item_ids: Iterable[str] = (),
        session_item_ids: Iterable[str] = (),
        k: int = 10,
        filters: ItemFilter | None = None,
        exclude_item_ids: Iterable[str] = (),
        max_per_category: int | None = None,
        max_per_brand: int | None = None,
        consumable_categories: Sequence[str] | None = None,
        recommend_viewed: bool = False,
        session_event_types: Sequence[str] | None = None,
    ) -> Recommendations:
        """Personalised items for a shopper: stored history plus the online events given here.

        Args:
            user_id: a shopper; unknown ids are treated as anonymous (no error).
            history_item_ids: items bought since training (folded in; excluded unless consumable).
            session_item_ids: items viewed/carted now, most recent first: context (folded in),
                not answers unless ``recommend_viewed``.
            k: number of items wanted.
            filters: stock/category/price constraints (``None``: in stock only).
            exclude_item_ids: items never to return.
            max_per_category: most items per leaf category (diversity cap).
            max_per_brand: most items per brand.
            consumable_categories: category prefixes whose purchases may be recommended again
                (``None``: the model's ``consumable_categories``).
            recommend_viewed: the session's items may be recommended (re-recommendation).
            session_event_types: the event type of each session item (``view``,
                ``add_to_cart``), weighed as in training (``recsys.session``); None: all views.

        Returns:
            ``source`` is ``personalized`` (known user), ``session`` (only online events),
            ``similar`` or ``trending`` (fallbacks that filled the top of the list).
        """
        k = check_k(k)
        query = self._query(
            user_id,
            history_item_ids,
            session_item_ids,
            filters,
            exclude_item_ids,
            max_per_category,
            max_per_brand,
            consumable_categories,
            recommend_viewed,
            session_event_types,
        )
        return self._answer([query], k)[0]

    def recommend_batch(
        self,
        user_ids: Sequence[str],
        *,
        k: int = 10,
        filters: ItemFilter | None = None,
        max_per_category: int | None = None,
        max_per_brand: int | None = None,
    ) -> dict[str, Recommendations]:
        """``recommend(user_id=u, ...)`` for many users at once (same answers, batched scoring)."""
        k = check_k(k)
        ids = [str(u) for u in user_ids]
        queries = [
            self._query(u, (), (), filters, (), max_per_category, max_per_brand, None, False, None)
            for u in ids
        ]
        answers: list[Recommendations] = []
        for lo in range(0, len(queries), BATCH):
            answers += self._answer(queries[lo : lo + BATCH], k)
        return dict(zip(ids, answers, strict=True))

    def stage_rankings(
        self,
        user_ids: Sequence[str],
        *,
        filters: ItemFilter | None = None,
        k: int = 10,
        sessions: Mapping[str, Sequence[str]] | None = None,
    ):
        """Per pipeline stage, each user's top ``k`` under the rules, without fallbacks (for evaluation).

        ``sessions`` gives online items per user (folded in like ``session_item_ids``).

        Returns:
            ``{stage: {user: item ids}}`` for every source in ``CANDIDATE_SOURCES`` (its own ordering of
            the items it retrieved), ``"reranked"`` (the model's ordering of all candidates) and
            ``"candidates"`` (every merged candidate, unordered, not cut to ``k``).
        """
        k, ids = check_k(k), [str(u) for u in user_ids]
        stages: dict[str, dict[str, list[str]]] = {
            s: {} for s in (*CANDIDATE_SOURCES, "reranked", "candidates")
        }
        item_ids = self.parts.popular.item_ids_
        for lo in range(0, len(ids), BATCH):
            chunk = ids[lo : lo + BATCH]
            sessions = sessions or {}
            queries = [
                self._query(u, (), sessions.get(u, ()), filters, (), None, None, None, False, None)
                for u in chunk
            ]
            active = [i for i, q in enumerate(queries) if len(q.row.items)]
            if not active:
                continue
            cands = self._candidates([queries[i] for i in active])
            for u, i in enumerate(active):
                rows, rules = cands.user(u), queries[i].rules
                items = cands.items[rows]
                stages["candidates"][chunk[i]] = item_ids[items].tolist()
                orders = {"reranked": self._order(cands, rows)}
                for j, name in enumerate(CANDIDATE_SOURCES):
                    order = source_order(cands, rows, j)
                    orders[name] = order[
                        cands.features[rows][order, 2 * j + 1] < int(self.options.per_source)
                    ]
                for stage, order in orders.items():
                    picked = pick(
                        [(items[order], str)],
                        rules,
                        self.parts.popular.ranking_.filter,
                        self.parts.base["leaf"],
                        self.parts.base["brand"],
                        k,
                    )
                    stages[stage][chunk[i]] = [str(item_ids[p[0]]) for p in picked]
        return stages

    def _candidates(self, queries: list[_Query]) -> CandidateSet:
        # One profile at a time in plain numpy: the batch path's features without its scipy cost.
        return assemble(
            [
                candidates_one(
                    q.row,
                    self.parts.tables,
                    self.parts.attrs,
                    self.parts.als_retriever,
                    per_source=int(self.options.per_source),
                    max_recent=int(self.options.max_recent),
                    recent_half_life=float(self.options.recent_half_life),
                    block_seen=bool(self.options.exclude_seen),
                )
                for q in queries
            ]
        )

    def _query(
        self, user_id, history, session, filters, exclude, max_cat, max_brand, consumables, viewed, types
    ) -> _Query:
        flt = check_filter(filters)
        max_cat, max_brand = check_cap(max_cat, "max_per_category"), check_cap(max_brand, "max_per_brand")
        index = self.parts.popular.index_
        stored_row = self.parts.user_index.get(str(user_id)) if user_id is not None else None
        stored = ProfileRow(*self.parts.history.row(stored_row)) if stored_row is not None else _EMPTY
        weights = self._weights()
        ids = [session] if isinstance(session, str) else list(session or ())
        typed = zip(ids, event_weights_of(types, len(ids), weights), strict=True)
        known = [(index[str(i)], w) for i, w in typed if str(i) in index]
        now = [p for p, _ in known]
        row = merge_online(
            stored,
            session=now,
            purchased=positions(history, index),
            session_weight=[w for _, w in known],
            purchase_weight=weights.get("purchase", 5.0),
        )
        excluded = set(positions(exclude, index))
        if not viewed:  # what the shopper is looking at is context, not an answer
            excluded.update(now)
        bought = row.items[row.bought]
        prefixes = self.options.consumable_categories if consumables is None else consumables
        if len(bought) and prefixes:
            bought = bought[~consumable_mask(bought, self.parts.popular.ranking_.categories, prefixes)]
        excluded.update(bought.tolist())
        if self.options.exclude_seen:
            excluded.update(row.items.tolist())
        plain = stored_row if stored_row is not None and row is stored else None
        return _Query(row, stored_row is not None, Rules(flt, excluded, max_cat, max_brand), plain)

    def _weights(self) -> dict[str, float]:
        from recsys.interactions import resolve_event_weights

        return resolve_event_weights(self.options.event_weights)

    def _answer(self, queries: list[_Query], k: int) -> list[Recommendations]:
        stored = [self._stored_list(q) for q in queries]  # known users without new events
        active = [i for i, q in enumerate(queries) if len(q.row.items) and stored[i] is None]
        cands = self._candidates([queries[i] for i in active]) if active else None
        slot = {i: j for j, i in enumerate(active)}
        return [self._finish(q, cands, slot.get(i), k, stored[i]) for i, q in enumerate(queries)]

    def precompute(self, limit: int) -> RankedLists | None:
        """Up to ``limit`` known users' candidates in the re-ranker's order, by the request code."""
        users = chosen_users(np.diff(self.parts.history.indptr), limit)
        if not len(users):
            return None
        no_rules = Rules(ItemFilter())

        def ranked(u: int) -> tuple[np.ndarray, np.ndarray]:
            cands = self._candidates([_Query(ProfileRow(*self.parts.history.row(u)), True, no_rules)])
            rows = cands.user(0)
            order = self._order_features(cands.features[rows])
            return cands.items[rows][order], cands.best_source[rows][order]

        return rank_users(users, len(self.parts.history.user_ids), ranked)

    def _stored_list(self, query: _Query) -> tuple[np.ndarray, np.ndarray] | None:
        """The fit's ranked candidates of this user (``recsys.precomputed``), if it applies."""
        if query.user_row is None or self.ranked is None:
            return None
        return self.ranked.of(query.user_row)

    def _finish(
        self,
        query: _Query,
        cands: CandidateSet | None,
        u: int | None,
        k: int,
        stored: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> Recommendations:
        ranked = stored is not None or (cands is not None and u is not None)
        if stored is not None:  # the same cut as ``_tiers``, on the stored order
            allowed = self._allowed(stored[0], query.rules)
            tiers = self._ranked_tiers(query, stored[0][allowed], stored[1][allowed])
        elif cands is not None and u is not None:
            tiers = self._tiers(query, cands, u)
        else:
            tiers = iter([self._trending_tier(query.rules.flt)])
        picked = pick(
            tiers,
            query.rules,
            self.parts.popular.ranking_.filter,
            self.parts.base["leaf"],
            self.parts.base["brand"],
            k,
        )
        names = ["ranked", "similar", "trending"] if ranked else ["trending"]
        source = names[picked[0][2]] if picked else "trending"
        if source == "ranked":
            source = "personalized" if query.known_user else "session"
        ids = self.parts.popular.item_ids_
        return Recommendations(
            [ScoredItem(str(ids[item]), 1.0 / (1 + n), reason) for n, (item, reason, _) in enumerate(picked)],
            source,
        )

    def _tiers(self, query: _Query, cands: CandidateSet, u: int) -> Iterator[tuple[np.ndarray, Reason]]:
        """Ranked candidates, then similar items, then trending; built only when ``pick`` gets to them."""
        rows = cands.user(u)
        items = cands.items[rows]
        # Score only what the rules allow: rows score independently and the sort is stable.
        keep = np.flatnonzero(self._allowed(items, query.rules))
        order = keep[self._order_features(cands.features[rows][keep])]
        yield from self._ranked_tiers(query, items[order], cands.best_source[rows][order])

    def _allowed(self, items: np.ndarray, rules: Rules) -> np.ndarray:
        allowed = self.parts.popular.ranking_.filter.mask(items, rules.flt)
        if rules.excluded:
            allowed &= ~np.isin(items, np.fromiter(rules.excluded, np.int64))
        return allowed

    def _ranked_tiers(
        self, query: _Query, items: np.ndarray, best: np.ndarray
    ) -> Iterator[tuple[np.ndarray, Reason]]:
        yield items, _RankedReasons(self, best, query.row)
        yield self._similar_tier(query.row)
        yield self._trending_tier(query.rules.flt)

    def _order(self, cands: CandidateSet, rows: slice) -> np.ndarray:
        return self._order_features(cands.features[rows])

    def _order_features(self, features: np.ndarray) -> np.ndarray:
        """Best-first order of candidate feature rows: re-ranker scores, else the best source's rank."""
        if not len(features):
            return np.zeros(0, np.int64)
        if (scorer := self.scorer()) is not None:  # the re-ranker, compiled (trees.batch)
            return np.argsort(-scorer.predict(features), kind="stable")
        return source_order_of(features, CANDIDATE_SOURCES.index(self.order_source))

    def _seeds(self, row: ProfileRow) -> np.ndarray:
        return row.items[-int(self.options.max_recent) :][::-1]  # newest first

    def reasons(self, items: np.ndarray, best: np.ndarray, row: ProfileRow) -> list[str]:
        """Why each item was retrieved (``best``: its best source), citing the shopper's own items.

        The profile rows are gathered once for all the items (``SeedLookup``), not once per item.
        """
        titles, categories = self.parts.popular.titles_, self.parts.popular.categories_
        seeds, bought = self._seeds(row), row.items[row.bought]
        out = ["Trending now"] * len(items)
        tables = {
            "covisit": (self.parts.tables.covisit, "Because you viewed {}", seeds),
            "copurchase": (self.parts.tables.copurchase, "Often bought with {}", bought),
            "content": (self.parts.tables.content, "Similar to {}", seeds),
        }
        for code in np.unique(best).tolist():
            where = np.flatnonzero(best == code)
            group = items[where]
            name = CANDIDATE_SOURCES[code] if code < len(CANDIDATE_SOURCES) else "popular"
            if name == "category":
                for i, item in zip(where.tolist(), group.tolist(), strict=True):
                    if categories[item]:
                        out[i] = f"Popular in {categories[item]}"
            elif name == "als" and len(seeds) and self.parts.item_factors.shape[1]:
                factors, bought_set = self.parts.item_factors, set(bought.tolist())
                scores = factors[seeds] @ factors[group].T  # (seed, item)
                itself = seeds[:, None] == group[None, :]  # a reason never cites the item itself
                scores[itself] = -np.inf
                tops = seeds[np.argmax(scores, axis=0)].tolist()
                for i, top, alone in zip(where.tolist(), tops, itself.all(axis=0).tolist(), strict=True):
                    if not alone:
                        out[i] = f"Because you {'bought' if top in bought_set else 'viewed'} {titles[top]}"
            elif name in tables:
                table, template, pool = tables[name]
                if len(pool):
                    found = SeedLookup(table, pool).best_of_many(group)
                    for i, seed in zip(where.tolist(), found, strict=True):
                        if seed is not None:
                            out[i] = template.format(titles[seed])
        return out

    def _similar_tier(self, row: ProfileRow) -> tuple[np.ndarray, Reason]:
        """Fallback: content neighbours of the newest profile items."""
        seeds = self._seeds(row)[:3]
        return neighbours_by_score(self.parts.tables.content, seeds), _SimilarReasons(self, seeds)

    def _trending_tier(self, flt: ItemFilter) -> tuple[np.ndarray, Reason]:
        """Fallback: time-decayed popularity, within the filter's category when there is one."""
        ranking = self.parts.popular.ranking_
        found = ranking.categories.find(flt.category) if flt.category and flt.category.strip() else None
        if found is not None:
            name = ranking.categories.names[found]
            return ranking.categories.members[found], lambda _: f"Trending in {name}"
        return ranking.order, lambda _: "Trending now"


@dataclass(frozen=True)
class _RankedReasons(BatchReason):
    """The ranked tier's reasons: ``ShopperQueries.reasons`` of the picked candidates."""

    queries: ShopperQueries
    best: np.ndarray  # each candidate's best source, in the tier's order
    row: ProfileRow

    def many(self, items: list[int], positions: list[int]) -> list[str]:
        return self.queries.reasons(np.asarray(items, np.int64), self.best[positions], self.row)


@dataclass(frozen=True)
class _SimilarReasons(BatchReason):
    """The similar-items fallback's reasons: the seed each item is most similar to."""

    queries: ShopperQueries
    seeds: np.ndarray

    def many(self, items: list[int], positions: list[int]) -> list[str]:
        if not len(self.seeds):
            return ["Trending now"] * len(items)
        titles = self.queries.parts.popular.titles_
        found = SeedLookup(self.queries.parts.tables.content, self.seeds).best_of_many(
            np.asarray(items, np.int64)
        )
        return [f"Similar to {titles[s]}" if s is not None else "Trending now" for s in found]

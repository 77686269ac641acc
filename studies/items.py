"""Build a study's items from the methods' candidate sets: seeded, balanced and idempotent.

- Likert: one item per distinct (query, clip) among the methods' top k. A clip
  that several methods return is rated once and credited to each, with ranks.
- Pairwise: for each query, each pair of methods and each rank r <= k, the two
  methods' rank-r clips. When both methods returned the same clip nothing is
  shown; the tie is recorded as a ``PairingOutcome`` for the analysis.
- Left/right: over each method pair, exactly half the items (give or take one)
  show the first method on the left, in an order shuffled by the study's seed.
- Gold checks are mixed in at the study's gold rate, keyed by what they ask
  rather than by their ids, so a duplicate with the same seed meets the same
  items in the same order: items depend on the design and the seed only.

Building twice gives the same items: every item has a deterministic key and
rows are created only for keys not present yet.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import combinations

from django.db import transaction
from django.db.models import QuerySet

from retrieval_backend.models import Candidate, MistakeQuery
from studies.models import GoldCheck, Item, PairingOutcome, Study

QUERY_BATCH = 500


@dataclass
class BuildReport:
    likert: int = 0
    pairwise: int = 0
    gold: int = 0
    identical_pairs: int = 0
    created: int = 0
    # Queries lacking a method's candidates, as "query: method" strings.
    missing: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.likert + self.pairwise + self.gold


def selected_queries(study: Study) -> QuerySet[MistakeQuery]:
    """The study's queries: the explicit list if any, else those matching its sports and skills, else all."""
    explicit = study.queries.all()
    if explicit.exists():
        return explicit.order_by("id")
    queries = MistakeQuery.objects.all()
    sports = list(study.query_sports.values_list("id", flat=True))
    if sports:
        queries = queries.filter(sport_id__in=sports)
    skills = [s.strip() for s in study.query_skills.split(",") if s.strip()]
    if skills:
        queries = queries.filter(skill__in=skills)
    return queries.order_by("id")


def order_key(seed: int, key: str) -> int:
    """A seeded pseudo-random position, stable across runs and machines."""
    digest = hashlib.blake2b(f"{seed}:{key}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big") >> 1


def _ranked_by_query(query_ids: list[int], method_ids: list[int], k: int) -> dict[int, dict[int, dict[int, int]]]:
    """query -> method -> rank -> clip, for ranks 1..k, in one query per batch."""
    ranked: dict[int, dict[int, dict[int, int]]] = defaultdict(lambda: defaultdict(dict))
    rows = Candidate.objects.filter(
        candidate_set__query_id__in=query_ids, candidate_set__method_id__in=method_ids, rank__lte=k
    ).values_list("candidate_set__query_id", "candidate_set__method_id", "rank", "clip_id")
    for query_id, method_id, rank, clip_id in rows.iterator(chunk_size=5000):
        ranked[query_id][method_id][rank] = clip_id
    return ranked


def _batches(queries: QuerySet[MistakeQuery]) -> Iterator[list[int]]:
    batch: list[int] = []
    for query_id in queries.values_list("id", flat=True).iterator(chunk_size=QUERY_BATCH):
        batch.append(query_id)
        if len(batch) == QUERY_BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def plan_items(study: Study) -> tuple[list[Item], list[PairingOutcome], BuildReport]:
    """Compute (without saving) every item the study's design calls for."""
    report = BuildReport()
    method_ids = sorted(study.methods.values_list("id", flat=True))
    method_names = dict(study.methods.values_list("id", "name"))
    k = study.depth_k
    items: list[Item] = []
    identical: list[PairingOutcome] = []
    # Pairwise items per method pair, placed left/right once all are known.
    pairs: dict[tuple[int, int], list[Item]] = defaultdict(list)

    for query_ids in _batches(selected_queries(study)):
        ranked = _ranked_by_query(query_ids, method_ids, k)
        for query_id in query_ids:
            by_method = ranked.get(query_id, {})
            for method_id in method_ids:
                if not by_method.get(method_id):
                    report.missing.append(f"{query_id}: {method_names[method_id]}")
            if study.has_likert:
                items.extend(_likert_items(study, query_id, by_method, method_ids))
            if study.has_pairwise:
                for m1, m2 in combinations(method_ids, 2):
                    for rank in range(1, k + 1):
                        c1, c2 = by_method.get(m1, {}).get(rank), by_method.get(m2, {}).get(rank)
                        if c1 is None or c2 is None:
                            continue
                        if c1 == c2:
                            identical.append(
                                PairingOutcome(
                                    study=study,
                                    query_id=query_id,
                                    clip_id=c1,
                                    method_a_id=m1,
                                    method_b_id=m2,
                                    rank=rank,
                                )
                            )
                            continue
                        pairs[(m1, m2)].append(
                            Item(
                                study=study,
                                kind=Item.Kind.PAIRWISE,
                                key=f"pw:{query_id}:{m1}:{m2}:r{rank}",
                                query_id=query_id,
                                clip_a_id=c1,
                                clip_b_id=c2,
                                credits_a=[{"method": m1, "rank": rank}],
                                credits_b=[{"method": m2, "rank": rank}],
                                method_pair=f"{m1}:{m2}",
                            )
                        )
    for (m1, m2), pair_items in sorted(pairs.items()):
        _balance_sides(study.seed, f"{m1}:{m2}", pair_items)
        items.extend(pair_items)
    report.likert = sum(1 for item in items if item.kind == Item.Kind.LIKERT)
    report.pairwise = sum(1 for item in items if item.kind == Item.Kind.PAIRWISE)
    report.identical_pairs = len(identical)
    gold = _gold_items(study, len(items))
    report.gold = len(gold)
    items.extend(gold)
    for item in items:
        item.order_key = order_key(study.seed, item.key)
        item.needed = study.raters_per_item
    return items, identical, report


def _likert_items(
    study: Study, query_id: int, by_method: dict[int, dict[int, int]], method_ids: list[int]
) -> list[Item]:
    credits: dict[int, list[dict[str, int]]] = defaultdict(list)
    for method_id in method_ids:
        for rank, clip_id in sorted(by_method.get(method_id, {}).items()):
            credits[clip_id].append({"method": method_id, "rank": rank})
    return [
        Item(
            study=study,
            kind=Item.Kind.LIKERT,
            key=f"lk:{query_id}:{clip_id}",
            query_id=query_id,
            clip_a_id=clip_id,
            credits_a=clip_credits,
        )
        for clip_id, clip_credits in sorted(credits.items())
    ]


def _balance_sides(seed: int, pair: str, items: list[Item]) -> None:
    """Exactly floor(n/2) or ceil(n/2) items per side, in a seeded random order."""
    sides = [True] * (len(items) // 2) + [False] * (len(items) - len(items) // 2)
    random.Random(f"{seed}:sides:{pair}").shuffle(sides)
    for item, swapped in zip(items, sides, strict=True):
        item.swapped = swapped


def _gold_content(check: GoldCheck) -> str:
    """What a gold check asks, as text: its kind, query, clips and accepted answer (never its own id)."""
    if check.kind == Item.Kind.PAIRWISE:
        return f"gold:pw:{check.query_id}:{check.helpful_clip_id}:{check.unrelated_clip_id}"
    return f"gold:lk:{check.query_id}:{check.helpful_clip_id}:{check.min_score}:{check.max_score}"


def _gold_keyed_checks(study: Study) -> list[tuple[str, GoldCheck]]:
    """The study's gold checks in content order, each with a key made of its content.

    A duplicated study has the same checks under other ids; keying and ordering them by what they ask
    gives it the same gold items in the same order. Checks alike in every way are told apart by their
    place among their twins, which is all that can tell them apart.
    """
    by_content = sorted(((_gold_content(check), check) for check in study.gold_checks.all()), key=lambda kc: kc[0])
    twins: Counter[str] = Counter()
    keyed = []
    for content, check in by_content:
        keyed.append((f"{content}:{twins[content]}", check))
        twins[content] += 1
    return keyed


def _gold_items(study: Study, regular: int) -> list[Item]:
    """Enough gold items that they make up ``gold_rate`` of all items, cycling over the study's checks."""
    checks = _gold_keyed_checks(study)
    if not checks or study.gold_rate <= 0 or regular == 0:
        return []
    wanted = math.ceil(study.gold_rate * regular / (1 - study.gold_rate))
    rng = random.Random(f"{study.seed}:gold")
    gold = []
    for n in range(wanted):
        check_key, check = checks[n % len(checks)]
        key = f"{check_key}:{n // len(checks)}"
        if check.kind == Item.Kind.PAIRWISE:
            gold.append(
                Item(
                    study=study,
                    kind=Item.Kind.PAIRWISE,
                    key=key,
                    query_id=check.query_id,
                    clip_a_id=check.helpful_clip_id,
                    clip_b_id=check.unrelated_clip_id,
                    swapped=rng.random() < 0.5,
                    is_gold=True,
                    gold_answer={"choice": "a"},
                )
            )
        else:
            gold.append(
                Item(
                    study=study,
                    kind=Item.Kind.LIKERT,
                    key=key,
                    query_id=check.query_id,
                    clip_a_id=check.helpful_clip_id,
                    is_gold=True,
                    gold_answer={"min": check.min_score, "max": check.max_score},
                )
            )
    return gold


def build_items(study: Study) -> BuildReport:
    """Create the study's items that don't exist yet. Safe to run again: it adds nothing the second time."""
    items, identical, report = plan_items(study)
    with transaction.atomic():
        existing = dict(Item.objects.filter(study=study).values_list("key", "is_gold"))
        new = [item for item in items if item.key not in existing]
        # Gold items are a share of the study: add only as many as the share still lacks. A study built
        # while gold keys held the check's id has its gold under those keys, and must not get it twice.
        gold_lacking = max(0, report.gold - sum(existing.values()))
        new = [item for item in new if not item.is_gold] + [item for item in new if item.is_gold][:gold_lacking]
        # A second build running at once (started again after its worker died, say) may insert the same keys.
        Item.objects.bulk_create(new, batch_size=2000, ignore_conflicts=True)
        PairingOutcome.objects.bulk_create(identical, batch_size=2000, ignore_conflicts=True)
    report.created = len(new)
    return report


__all__ = ["BuildReport", "GoldCheck", "build_items", "order_key", "plan_items", "selected_queries"]

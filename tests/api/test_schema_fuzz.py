"""Schemathesis against the live OpenAPI schema: no input gives a 5xx, every answer is the one documented.

A real server (pytest-django's ``live_server``) serves ``/api/schema/``; schemathesis reads
the schema from it and, for every operation, sends generated requests (valid ones, and
ones that break the schema) as a researcher, as a coach and anonymously, over a small
gallery with a draft and a live study, so that ids in paths often name real rows. Each
answer is checked: not a server error, a status code the schema lists, the content type
and the body the schema gives for that status. A second coach fuzzes the coach's endpoints
with the first coach's task and judgement tokens in the path: every one of those is refused.

Bounded and repeatable: a fixed number of examples per operation and mode, derandomized,
no shrinking; every failure of every operation is collected and reported together. Writes
run after reads and deletes last, so the seeded rows serve most of the run.
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from dataclasses import dataclass, field

import pytest
import requests
import schemathesis
from django.core.cache import cache
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from rest_framework.authtoken.models import Token
from rest_framework.throttling import SimpleRateThrottle
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from annotations.coach.judging import Answer, submit
from core.models import Job
from retrieval_backend.models import Candidate
from studies.assignment import next_assignment_for
from studies.models import Study
from studies.tasks import build_study_items
from tests.api.conftest import make_researcher
from tests.factories import StudyExportFactory, StudyFactory
from tests.studies.conftest import make_coach, make_gallery

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Examples per operation and generation mode. The researcher reaches the logic of every endpoint; a coach
# reaches that of the coach's endpoints and elsewhere gets 403s; an anonymous caller gets 401s everywhere.
# (caller, own endpoints?) -> examples per mode, and the modes.
POSITIVE_ONLY = (GenerationMode.POSITIVE,)
BOTH_MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
# A deeper run by hand: API_FUZZ_EXAMPLES=50 pytest tests/api/test_schema_fuzz.py (derandomized all the same).
DEPTH = int(os.environ.get("API_FUZZ_EXAMPLES", "3"))
BUDGET = {
    ("researcher", False): (DEPTH, BOTH_MODES),
    ("coach", True): (DEPTH, BOTH_MODES),
    ("coach", False): (1, POSITIVE_ONLY),
    ("anonymous", False): (1, POSITIVE_ONLY),
    ("anonymous", True): (1, POSITIVE_ONLY),
    ("other-coach", True): (DEPTH, POSITIVE_ONLY),
    ("other-coach", False): (0, ()),
}
METHOD_ORDER = {"get": 0, "head": 0, "options": 0, "post": 1, "put": 1, "patch": 1, "delete": 2}


@dataclass
class Seeded:
    """The rows the fuzzed requests can name in their paths, by path parameter."""

    path_values: dict[str, dict[str, list]] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)


@pytest.fixture
def unthrottled(monkeypatch, settings):
    """Hundreds of requests a minute from one token: the API's per-user rates would turn them into 429s.

    (Password checks at /api/v1/auth/token/ use a cheap hasher too: the default one costs most of a second.)
    """
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Hundreds of expected 4xx warnings would bury the report; a 500 still logs its traceback (ERROR).
    request_log = logging.getLogger("django.request")
    previous_level = request_log.level
    request_log.setLevel(logging.ERROR)
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"anon": "100000/min", "user": "100000/min"})
    cache.clear()
    yield
    cache.clear()
    request_log.setLevel(previous_level)


def _seed() -> Seeded:
    sport, clips, queries, methods = make_gallery(n_queries=3, n_clips=12, k=4)
    researcher = make_researcher("fuzz-researcher")
    coach = make_coach("fuzz-coach", sports=[sport])
    draft = StudyFactory(title="Draft study", slug="fuzz-draft", depth_k=4, raters_per_item=2, seed=3, methods=methods)
    live = StudyFactory(title="Live study", slug="fuzz-live", depth_k=4, raters_per_item=2, seed=5, methods=methods)
    Study.objects.filter(pk=live.pk).update(status=Study.Status.GENERATING)
    build_study_items(live.pk)
    Study.objects.filter(pk=live.pk).update(status=Study.Status.LIVE)
    live.refresh_from_db()
    judged = next_assignment_for(coach, live)
    submit(coach, judged.token, Answer(flag="other"))
    assignment = next_assignment_for(coach, live)
    job = Job.objects.create(kind="generate_candidates", total=3)
    export = StudyExportFactory(study=live, job=None, requested_by=researcher)
    candidate = Candidate.objects.first()
    video = clips[0].video
    studies = [draft.pk, live.pk]
    return Seeded(
        path_values={
            "sports": {"id": [sport.pk]},
            "videos": {"id": [video.pk, queries[0].video_id]},
            "clips": {"id": [clips[0].pk, clips[-1].pk]},
            "queries": {"id": [queries[0].pk]},
            "methods": {"name": [methods[0].name, methods[1].name]},
            "jobs": {"id": [job.pk]},
            "candidates": {"id": [candidate.pk]},
            "studies": {"id": studies, "pk": studies, "study": studies, "export_id": [export.pk]},
            "coach": {"slug": [live.slug, draft.slug], "token": [assignment.token, judged.token]},
        },
        tokens={
            "researcher": Token.objects.create(user=researcher).key,
            "coach": Token.objects.create(user=coach).key,
            "other-coach": Token.objects.create(user=make_coach("fuzz-other-coach", sports=[sport])).key,
        },
    )


def _can_break(operation) -> bool:
    """Whether schemathesis can make a request that breaks the schema: a body, or a parameter with a type or rule.

    (A plain text parameter accepts every string; Hypothesis would search for seconds before giving up.)
    """
    raw = operation.definition.raw
    if "requestBody" in raw:
        return True
    constraints = {"enum", "pattern", "format", "minLength", "maxLength", "minimum", "maximum"}
    for parameter in raw.get("parameters", []):
        schema = parameter.get("schema", {})
        if schema.get("type", "string") != "string" or constraints & set(schema):
            return True
    return False


def _resource(path: str) -> str:
    # "/api/v1/studies/{id}/items/" -> "studies"
    return path.removeprefix("/api/v1/").split("/", 1)[0]


def _strategy(operation, mode: GenerationMode, seeded: Seeded):
    """Cases with path parameters naming seeded rows, and cases with whatever the schema allows."""
    names = [p.name for p in operation.path_parameters]
    known = seeded.path_values.get(_resource(operation.path), {})
    choices: list[dict] = [{}]
    if names and all(name in known for name in names):
        choices = [{name: known[name][i % len(known[name])] for name in names} for i in range(2)]
    strategies = [operation.as_strategy(generation_mode=mode, path_parameters=fixed) for fixed in choices]
    if names:
        strategies.append(operation.as_strategy(generation_mode=mode))
    return st.one_of(strategies)


@dataclass
class Run:
    cases: Counter = field(default_factory=Counter)
    seconds: Counter = field(default_factory=Counter)
    statuses: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)


def _fuzz_operation(operation, mode, label, base_url, session, headers, examples, seeded, run, not_yours) -> None:
    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )
    @given(case=_strategy(operation, mode, seeded))
    def check(case):
        run.cases[label] += 1
        response = case.call(base_url=base_url, session=session, headers=headers, timeout=30)
        run.statuses[response.status_code] += 1
        case.validate_response(response, checks=CHECKS, headers=headers)
        token = (case.path_parameters or {}).get("token")
        if not_yours and token in seeded.path_values["coach"]["token"]:
            assert response.status_code >= 400, (
                f"another coach's task {token} answered {response.status_code}: {response.text[:300]}"
            )

    check()


def _fuzz(schema, base_url: str, caller: str, seeded: Seeded) -> Run:
    run = Run()
    session = requests.Session()
    token = seeded.tokens.get(caller)
    headers = {"Authorization": f"Token {token}"} if token else {}
    operations = [result.ok() for result in schema.get_all_operations()]
    operations.sort(key=lambda op: (METHOD_ORDER.get(op.method.lower(), 1), op.path))
    for operation in operations:
        label = f"{operation.method.upper()} {operation.path}"
        coach_endpoint = operation.path.startswith("/api/v1/coach/")
        examples, modes = BUDGET[(caller, coach_endpoint and caller != "researcher")]
        if not examples:
            continue
        for mode in modes if _can_break(operation) else POSITIVE_ONLY:
            try:
                started = time.monotonic()
                not_yours = caller == "other-coach"
                _fuzz_operation(operation, mode, label, base_url, session, headers, examples, seeded, run, not_yours)
            except Unsatisfiable:
                pass  # nothing in this operation can be made invalid (no parameters, no body)
            except (Exception, BaseExceptionGroup) as exc:  # each failure is collected, then all reported
                run.failures.append(f"--- {label} ({mode.value}):\n{exc}")
            run.seconds[label] += time.monotonic() - started
    return run


@pytest.fixture
def api_schema(live_server, unthrottled):
    return schemathesis.openapi.from_url(f"{live_server.url}/api/schema/")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("caller", ["researcher", "coach", "other-coach", "anonymous"])
def test_no_input_gives_a_server_error_or_an_undocumented_answer(live_server, api_schema, caller):
    seeded = _seed()
    run = _fuzz(api_schema, live_server.url, caller, seeded)
    operations = len(run.cases)
    print(
        f"\n{caller}: {sum(run.cases.values())} cases over {operations} operations; "
        f"statuses {dict(sorted(run.statuses.items()))}; slowest: "
        + ", ".join(f"{label} {s:.1f} s" for label, s in run.seconds.most_common(4))
    )
    assert not run.failures, f"{len(run.failures)} failing operation(s):\n" + "\n\n".join(run.failures)
    assert operations >= (30 if caller != "other-coach" else 6), f"only {operations} operations: {sorted(run.cases)}"


# --- What the fuzzing found, kept as plain regression tests (fast, no server) ------------------------------

FOUND = [
    # A huge number for an id filter overflowed the database integer: now a 400 naming the range.
    ("get", "/api/v1/clips/?video=-2.1400557401678937e%2B220", None, 400),
    ("get", "/api/v1/queries/?video=1e300", None, 400),
    # A time bound whose offset PostgreSQL refuses (+21:52): compared in UTC.
    ("get", "/api/v1/studies/{study}/judgements/?created_after=0822-08-03T00%3A23%3A18.24%2B21%3A52", None, 200),
    # A NUL character in a related name (PostgreSQL can't compare it): a 400 saying so.
    ("post", "/api/v1/studies/", {"title": "t", "slug": "t", "methods": ["alpha\x00", "beta"]}, 400),
    ("patch", "/api/v1/studies/{study}/", {"eligible_coaches": ["coach1\x00"]}, 400),
    # An address under /api/ that matches no route: the API's JSON 404, not the site's HTML page.
    ("get", "/api/v1/studies/not-a-number/", None, 404),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "url", "body", "status"), FOUND)
def test_inputs_the_fuzzing_found_get_a_clear_answer(api, researcher, study, method, url, body, status):
    response = getattr(api(researcher), method)(url.format(study=study.pk), body, format="json")
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/json")
    if status >= 400:
        assert response.json()["detail"]

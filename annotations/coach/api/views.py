"""The coach's side of the API, for a mobile client: open studies, the next task, submitting, history.

The rules are the web pages' (``annotations.coach.views``), through the same functions: the
assignment engine hands out items (``next_assignment_for``), ``judging.submit`` and
``judging.revise`` record answers. A task names its videos by screen side only, with the
same blind URLs the page plays, so no answer here names a method, a clip, a rank or a score.
Another coach's token is a 404, exactly like a token that never existed.
"""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations.coach.answering import AnswerRefused, StudyClosed, Submission, answer_task
from annotations.coach.instructions import render_instructions
from annotations.coach.judging import (
    MAX_RATIONALE,
    Answer,
    JudgementError,
    may_revise,
    revisable,
    revisable_ids,
    revise,
)
from annotations.coach.kinds import kind_of
from annotations.coach.screen import TASK_ROWS, attach_clips, attach_item, load_screen, players_for
from annotations.coach.standing import coach_studies, done_reason, next_task, progress_for, visible_study
from annotations.models import Judgement
from core.api.errors import Conflict
from core.api.pagination import IdCursorPagination
from core.api.parsers import PARSERS
from core.api.permissions import IsCoach
from core.api.schema import api_error
from studies.assignment import AssignmentError
from studies.models import Assignment, Item, Study

COACH_ERRORS = {
    401: api_error("Not signed in: send `Authorization: Token <key>`."),
    404: api_error("No such study open to you, or no such task of yours."),
}


# --- What a coach reads -------------------------------------------------------------------------


class CoachProgressSerializer(serializers.Serializer):
    done = serializers.IntegerField()
    total = serializers.IntegerField(
        help_text="Done plus the items left for you: your quota's rest when it binds, else about (a minute old)."
    )
    is_quota = serializers.BooleanField(help_text="True when the total is your quota, exactly.")
    percent = serializers.IntegerField()
    text = serializers.CharField()


class CoachStudySerializer(serializers.Serializer):
    slug = serializers.CharField()
    title = serializers.CharField()
    status = serializers.CharField()
    instructions = serializers.CharField(help_text="Markdown, as the researcher wrote it.")
    instructions_html = serializers.CharField(help_text="The same, as sanitised HTML.")
    require_full_watch = serializers.BooleanField()
    progress = CoachProgressSerializer()
    started = serializers.BooleanField()
    holding = serializers.BooleanField(help_text="An item is reserved for you right now.")


class PlayerSerializer(serializers.Serializer):
    side = serializers.ChoiceField(choices=["query", "left", "right", "clip"])
    label = serializers.CharField()
    url = serializers.URLField(help_text="The video of this side, for this task only (signed-in session).")
    duration_ms = serializers.IntegerField()
    tolerance_ms = serializers.IntegerField(help_text="How far short of the length a full watch may fall.")
    narration = serializers.CharField(allow_blank=True)
    aspect = serializers.FloatField()


class OptionSerializer(serializers.Serializer):
    value = serializers.CharField()
    label = serializers.CharField(allow_blank=True)


class TaskSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Names this reservation; submit answers to it.")
    study = serializers.CharField(help_text="The study's slug.")
    status = serializers.ChoiceField(
        choices=Assignment.Status.choices,
        help_text="reserved: yours to answer now; upcoming: reserved as your next item (the web page loads its "
        "videos ahead), answerable once `next` hands it to you; done; released.",
    )
    expires = serializers.DateTimeField(help_text="The reservation is given back to the pool after this.")
    kind = serializers.ChoiceField(choices=Item.Kind.choices)
    question = serializers.CharField()
    mistake = serializers.CharField()
    sport = serializers.CharField()
    skill = serializers.CharField(allow_blank=True)
    players = PlayerSerializer(many=True)
    choices = OptionSerializer(many=True, help_text="Pairwise: the answers to choose from (`choice`).")
    scale = OptionSerializer(many=True, help_text="Likert: the scale's points (`score`) and their labels.")
    require_full_watch = serializers.BooleanField()
    progress = CoachProgressSerializer()


class DoneSerializer(serializers.Serializer):
    title = serializers.CharField()
    message = serializers.CharField()
    can_retry = serializers.BooleanField(help_text="Asking again later may find an item.")


class NextTaskSerializer(serializers.Serializer):
    task = TaskSerializer(allow_null=True)
    done = DoneSerializer(allow_null=True, help_text="Why there is no task, when there is none.")


class CoachJudgementSerializer(serializers.ModelSerializer):
    token = serializers.CharField(source="assignment.token", help_text="The task's token.")
    study = serializers.CharField(source="study.slug")
    revisable = serializers.SerializerMethodField(help_text="Whether PATCH may still change this answer.")
    # Blank for Likert items and flagged tasks (a read-only model field would not say so in the schema).
    choice = serializers.ChoiceField(choices=Judgement.Choice.choices, allow_blank=True, read_only=True)

    class Meta:
        model = Judgement
        fields = ["token", "study", "kind", "choice", "score", "rationale", "flag", "created", "revised", "revision"]
        fields = [*fields, "revisable"]
        read_only_fields = fields

    def get_revisable(self, judgement: Judgement) -> bool:
        return may_revise(judgement, self.context.get("recent", set()))


class SubmittedSerializer(serializers.Serializer):
    judgement = CoachJudgementSerializer()
    created = serializers.BooleanField(help_text="False when this task had been answered already: nothing changed.")


# --- What a coach sends -------------------------------------------------------------------------


class AnswerSerializer(serializers.Serializer):
    choice = serializers.ChoiceField(
        choices=Judgement.Choice.choices, required=False, allow_blank=True, help_text="Pairwise items."
    )
    score = serializers.IntegerField(
        required=False, allow_null=True, min_value=-32767, max_value=32767, help_text="Likert items."
    )
    rationale = serializers.CharField(required=False, allow_blank=True, max_length=MAX_RATIONALE, trim_whitespace=False)
    flag = serializers.ChoiceField(
        choices=Judgement.Flag.choices,
        required=False,
        help_text="Instead of an answer: the item can't be judged.",
    )
    watch_ms = serializers.DictField(
        child=serializers.IntegerField(min_value=0, max_value=2**31 - 1),
        required=False,
        help_text='Milliseconds each screen side played, e.g. {"query": 3000, "left": 4100, "right": 3900}.',
    )


class ReviseSerializer(serializers.Serializer):
    choice = serializers.ChoiceField(choices=Judgement.Choice.choices, required=False, allow_blank=True)
    score = serializers.IntegerField(required=False, allow_null=True, min_value=-32767, max_value=32767)
    rationale = serializers.CharField(required=False, allow_blank=True, max_length=MAX_RATIONALE, trim_whitespace=False)


# --- Building the answers -----------------------------------------------------------------------


def _progress(progress) -> dict:
    return {
        "done": progress.done,
        "total": progress.total,
        "is_quota": progress.is_quota,
        "percent": progress.percent,
        "text": progress.text,
    }


def task_body(request: Request, assignment: Assignment) -> dict:
    """The task as the page shows it: screen sides, the question, the choices or scale. Nothing else."""
    study, item = assignment.study, assignment.item
    kind = kind_of(item)
    pairwise = item.kind == Item.Kind.PAIRWISE
    options = [{"value": option.value, "label": option.label} for option in kind.options(study)]
    players = players_for(attach_clips(assignment), narrations=study.show_narrations)
    return {
        "token": assignment.token,
        "study": study.slug,
        "status": assignment.status,
        "expires": assignment.expires,
        "kind": item.kind,
        "question": kind.question(study),
        "mistake": item.query.mistake,
        "sport": item.query.sport.name,
        "skill": item.query.skill,
        "players": [
            {
                "side": p.side,
                "label": p.label,
                "url": request.build_absolute_uri(p.url),
                "duration_ms": p.duration_ms,
                "tolerance_ms": p.tolerance_ms,
                "narration": p.narration,
                "aspect": p.aspect,
            }
            for p in players.values()
        ],
        "choices": options if pairwise else [],
        "scale": [] if pairwise else options,
        "require_full_watch": study.require_full_watch,
        "progress": _progress(progress_for(study, request.user, getattr(assignment, "done_count", 0) or 0)),
    }


def _held(request: Request, token: str, *, clips: bool = True) -> Assignment:
    assignment = load_screen(TASK_ROWS, clips=clips, token=token, coach=request.user)
    if assignment is None:
        raise Http404("No such task is reserved for you.")
    return assignment


def _visible_study(request: Request, slug: str) -> Study:
    found = visible_study(request.user, slug)
    if found is None:
        raise Http404("No such study is open to you.")
    return found[0]


def _recent(user) -> set[int]:
    return revisable_ids(user.pk)


# --- Views --------------------------------------------------------------------------------------


class _CoachView(APIView):
    """A coach's endpoint: JSON bodies, signed-in coaches only."""

    parser_classes = PARSERS
    permission_classes = [IsCoach]


class CoachStudyList(_CoachView):
    @extend_schema(
        summary="Your live and paused studies, newest first, with your progress",
        responses={200: CoachStudySerializer(many=True), 401: COACH_ERRORS[401]},
    )
    def get(self, request: Request) -> Response:
        cards = [
            {
                "slug": card.study.slug,
                "title": card.study.title,
                "status": card.study.status,
                "instructions": card.study.instructions,
                "instructions_html": str(render_instructions(card.study.instructions)),
                "require_full_watch": card.study.require_full_watch,
                "progress": _progress(card.progress),
                "started": card.started,
                "holding": card.holding,
            }
            for card in coach_studies(request.user)
        ]
        return Response(CoachStudySerializer(cards, many=True).data)


class CoachNextTask(_CoachView):
    @extend_schema(
        summary="Reserve your next item in a study (or get the one you hold)",
        description="Returns the task, or `task: null` with `done` saying why there is none (finished, quota, "
        "paused, closed). The reservation lasts until `expires`; asking again returns the same task.",
        request=None,
        responses={200: NextTaskSerializer, **COACH_ERRORS},
    )
    def post(self, request: Request, slug: str) -> Response:
        study = _visible_study(request, slug)
        assignment = next_task(request.user, study)
        if assignment is None:
            reason = done_reason(study, request.user)
            body = {
                "task": None,
                "done": {"title": reason.title, "message": reason.message, "can_retry": reason.can_retry},
            }
        else:
            # The engine hands the reservation over with its study and the coach's progress.
            body = {"task": task_body(request, attach_item(assignment)), "done": None}
        return Response(NextTaskSerializer(body).data)


@extend_schema_view(
    get=extend_schema(summary="One of your tasks", responses={200: TaskSerializer, **COACH_ERRORS}),
)
class CoachTask(_CoachView):
    def get(self, request: Request, token: str) -> Response:
        return Response(TaskSerializer(task_body(request, _held(request, token))).data)


class CoachSubmit(_CoachView):
    @extend_schema(
        summary="Answer (or flag) one of your tasks",
        description="Pairwise items take `choice`, Likert items `score`; `flag` instead of an answer sets the "
        "item aside. Sending the same task again records nothing new and returns the first judgement "
        "(`created: false`, status 200).",
        request=AnswerSerializer,
        responses={
            201: SubmittedSerializer,
            200: SubmittedSerializer,
            400: api_error("The answer doesn't fit the item: `detail` says what to change."),
            409: api_error("The study is closed, or the reservation lapsed and others judged it."),
            **COACH_ERRORS,
        },
    )
    def post(self, request: Request, token: str) -> Response:
        assignment = _held(request, token, clips=False)
        posted = AnswerSerializer(data=request.data)
        posted.is_valid(raise_exception=True)
        data = posted.validated_data
        answer = Answer(
            choice=data.get("choice", ""),
            score=data.get("score"),
            rationale=data.get("rationale", ""),
            flag=data.get("flag", ""),
        )
        sent = Submission(answer, watch_by_side=data.get("watch_ms", {}))
        try:
            answered = answer_task(request.user, assignment, sent)
        except StudyClosed as exc:
            raise Conflict(str(exc)) from None
        except AnswerRefused as exc:
            raise ValidationError({exc.field: [str(exc)]}) from None
        except JudgementError as exc:
            raise ValidationError({"non_field_errors": [str(exc)]}) from None
        except AssignmentError as exc:
            raise Conflict(str(exc)) from None
        return self._answered(request, answered.judgement, created=answered.created)

    def _answered(self, request: Request, judgement: Judgement, *, created: bool) -> Response:
        judgement = Judgement.objects.select_related("study", "assignment").get(pk=judgement.pk)
        body = {
            "judgement": CoachJudgementSerializer(judgement, context={"recent": _recent(request.user)}).data,
            "created": created,
        }
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class NewestFirst(IdCursorPagination):
    ordering = "-id"


@extend_schema(
    summary="Your judgements, newest first (cursor-paginated)",
    responses={200: CoachJudgementSerializer, 401: COACH_ERRORS[401]},
)
class CoachJudgementList(generics.ListAPIView):
    permission_classes = [IsCoach]
    serializer_class = CoachJudgementSerializer
    pagination_class = NewestFirst
    filter_backends: list = []

    def get_queryset(self):
        return Judgement.objects.filter(coach=self.request.user).select_related("study", "assignment")

    def get_serializer_context(self) -> dict:
        return {**super().get_serializer_context(), "recent": _recent(self.request.user)}


class CoachJudgementRevise(_CoachView):
    @extend_schema(
        summary="Change one of your recent answers while its study is live",
        request=ReviseSerializer,
        responses={
            200: CoachJudgementSerializer,
            400: api_error("The answer doesn't fit the item."),
            409: api_error("Only your recent answers in a live study can be revised."),
            **COACH_ERRORS,
        },
    )
    def patch(self, request: Request, token: str) -> Response:
        judgement = (
            Judgement.objects.select_related("study").filter(assignment__token=token, coach=request.user).first()
        )
        if judgement is None:
            raise Http404("No such answer of yours.")
        if not revisable(judgement):
            raise Conflict("Only your recent answers in a live study can be revised; this one is final.")
        posted = ReviseSerializer(data=request.data)
        posted.is_valid(raise_exception=True)
        data = posted.validated_data
        answer = Answer(choice=data.get("choice", ""), score=data.get("score"), rationale=data.get("rationale", ""))
        try:
            revise(request.user, judgement.pk, answer)
        except JudgementError as exc:
            raise ValidationError({"non_field_errors": [str(exc)]}) from None
        judgement = Judgement.objects.select_related("study", "assignment").get(pk=judgement.pk)
        return Response(CoachJudgementSerializer(judgement, context={"recent": _recent(request.user)}).data)

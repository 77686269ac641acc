"""Test rows, built one way: factory_boy factories for the gallery, coaches, researchers and studies.

Every default is deterministic (a sequence number, a fixed value, never a random draw), so a test
that leaves a field to its factory gets the same row on every run and in any order. Tests pass the
fields they assert on; the factories fill in the rest. A field the model gives a default (a clip's
skill, a video's role) keeps the model's default, so a factory row is what ``objects.create`` made.

Sports and retrieval methods are found by their natural key (``django_get_or_create``), as imports
find them: two galleries built in one test share the "tennis" sport and the "alpha" method.
"""

from __future__ import annotations

from datetime import timedelta

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.utils import timezone
from factory.django import DjangoModelFactory

from annotations.models import StudyExport
from retrieval_backend.models import Candidate, CandidateSet, Clip, MistakeQuery, RetrievalMethod, Sport, Video
from studies.models import Assignment, CoachProfile, GoldCheck, Item, Participation, Study

# The password every test user logs in with, unless a test gives its own.
PASSWORD = "pw-for-tests-123"
# The apps whose model permissions a researcher holds.
RESEARCH_APPS = ("core", "retrieval_backend", "studies", "annotations")


class SportFactory(DjangoModelFactory):
    class Meta:
        model = Sport
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"sport-{n}")
    name = factory.LazyAttribute(lambda sport: sport.slug.replace("-", " ").title())


class VideoFactory(DjangoModelFactory):
    """A gallery video row; no file behind it unless ``source_uri`` names one."""

    class Meta:
        model = Video

    sport = factory.SubFactory(SportFactory)
    source_uri = factory.Sequence(lambda n: f"/videos/video-{n}.mp4")


class ClipFactory(DjangoModelFactory):
    """One demonstration: the n-th clip starts at n seconds of its video and lasts one."""

    class Meta:
        model = Clip

    video = factory.SubFactory(VideoFactory)
    sport = factory.SelfAttribute("video.sport")
    external_id = factory.Sequence(lambda n: f"clip-{n}")
    start_s = factory.Sequence(float)
    end_s = factory.LazyAttribute(lambda clip: clip.start_s + 1)
    narration = factory.Sequence(lambda n: f"Tip {n}")


class MistakeQueryFactory(DjangoModelFactory):
    class Meta:
        model = MistakeQuery

    video = factory.SubFactory(VideoFactory, role=Video.Role.QUERY)
    sport = factory.SelfAttribute("video.sport")
    external_id = factory.Sequence(lambda n: f"query-{n}")
    start_s = 0.0
    end_s = 3.0
    mistake = factory.Sequence(lambda n: f"Mistake {n}")


class RetrievalMethodFactory(DjangoModelFactory):
    class Meta:
        model = RetrievalMethod
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"method-{n}")
    backend = "random"


class CandidateSetFactory(DjangoModelFactory):
    class Meta:
        model = CandidateSet

    query = factory.SubFactory(MistakeQueryFactory)
    method = factory.SubFactory(RetrievalMethodFactory)
    k = 5


class CandidateFactory(DjangoModelFactory):
    """One ranked clip of a candidate set; the score falls with the rank, as a search returns them."""

    class Meta:
        model = Candidate

    candidate_set = factory.SubFactory(CandidateSetFactory)
    rank = factory.Sequence(lambda n: n + 1)
    clip = factory.SubFactory(ClipFactory)
    score = factory.LazyAttribute(lambda candidate: 1 - candidate.rank / 100)


class UserFactory(DjangoModelFactory):
    """A user made with ``create_user``: the password hashed, ``password=None`` an unusable one."""

    class Meta:
        model = get_user_model()

    class Params:
        # What create_superuser makes: staff, with every permission.
        superuser = factory.Trait(is_staff=True, is_superuser=True)

    username = factory.Sequence(lambda n: f"user{n}")
    password = PASSWORD

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return model_class._default_manager.create_user(*args, **kwargs)


class ResearcherFactory(UserFactory):
    """Staff with every model permission of the research apps (``perms=False``: staff with none)."""

    class Meta:
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"researcher{n}")
    is_staff = True

    @factory.post_generation
    def perms(self, create: bool, extracted: bool | None, **kwargs) -> None:
        if create and extracted is not False:
            self.user_permissions.set(Permission.objects.filter(content_type__app_label__in=RESEARCH_APPS))


class CoachProfileFactory(DjangoModelFactory):
    """A coach: ``CoachProfileFactory(user__username="ana", sports=[tennis]).user``."""

    class Meta:
        model = CoachProfile
        # The hooks below write their own rows; the instance itself needs no second save.
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory, username=factory.Sequence(lambda n: f"coach{n}"))
    years_coaching = 5

    @factory.post_generation
    def sports(self, create: bool, extracted, **kwargs) -> None:
        if create and extracted:
            self.sports.set(extracted)


class StudyFactory(DjangoModelFactory):
    """A draft study with the model's defaults; ``methods=[...]`` sets the methods it compares."""

    class Meta:
        model = Study
        # The hooks below write their own rows; the instance itself needs no second save.
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Study {n}")
    slug = factory.Sequence(lambda n: f"study-{n}")

    @factory.post_generation
    def methods(self, create: bool, extracted, **kwargs) -> None:
        if create and extracted:
            self.methods.set(extracted)


class ItemFactory(DjangoModelFactory):
    """An item of its study, needing the study's raters; pairwise items get a second clip."""

    class Meta:
        model = Item

    class Params:
        pairwise = factory.LazyAttribute(lambda item: item.kind == Item.Kind.PAIRWISE)

    study = factory.SubFactory(StudyFactory)
    kind = Item.Kind.LIKERT
    key = factory.Sequence(lambda n: f"item-{n}")
    query = factory.SubFactory(MistakeQueryFactory)
    clip_a = factory.SubFactory(ClipFactory)
    clip_b = factory.Maybe("pairwise", yes_declaration=factory.SubFactory(ClipFactory), no_declaration=None)
    needed = factory.SelfAttribute("study.raters_per_item")
    order_key = factory.Sequence(int)


class GoldCheckFactory(DjangoModelFactory):
    class Meta:
        model = GoldCheck

    study = factory.SubFactory(StudyFactory)
    kind = Item.Kind.PAIRWISE
    query = factory.SubFactory(MistakeQueryFactory)
    helpful_clip = factory.SubFactory(ClipFactory)


class AssignmentFactory(DjangoModelFactory):
    """A reservation of an item by a coach, expiring in the study's reservation time."""

    class Meta:
        model = Assignment

    item = factory.SubFactory(ItemFactory)
    study = factory.SelfAttribute("item.study")
    coach = factory.SubFactory(UserFactory)
    expires = factory.LazyAttribute(lambda a: timezone.now() + timedelta(minutes=a.study.reservation_minutes))


class ParticipationFactory(DjangoModelFactory):
    class Meta:
        model = Participation

    study = factory.SubFactory(StudyFactory)
    coach = factory.SubFactory(UserFactory)


class StudyExportFactory(DjangoModelFactory):
    class Meta:
        model = StudyExport

    study = factory.SubFactory(StudyFactory)

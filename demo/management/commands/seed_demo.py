"""``manage.py seed_demo``: a small synthetic gallery, mistake queries, methods, demo accounts and a demo study.

The videos are drawn and encoded here (no network, no data files) into
``MEDIA_ROOT/demo``, then imported through ``import_gallery`` and
``import_queries`` like any researcher's manifests, so the demo exercises the
real import path. The demo study goes live once a worker has generated the
methods' candidates (``demo.study``). Running it again adds only what is missing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from demo.accounts import COACHES, DEMO_PASSWORD, RESEARCHER
from demo.gallery.build import build_demo
from demo.gallery.sports import SKILLS
from demo.study import ensure_demo_coach_profiles, start_demo_study
from retrieval_backend import command_args
from retrieval_backend.methods import BackendNotFound, BackendParamsError, backend_class
from retrieval_backend.models import Clip, MistakeQuery, RetrievalMethod, Sport

# Method name -> (backend, params). The visual method runs the training-free baseline:
# the demo ships no model weights.
DEMO_METHODS: dict[str, tuple[str, dict[str, Any]]] = {
    "random": ("random", {"seed": 0}),
    "narration-text": ("narration-text", {}),
    "visual-baseline": ("visual", {}),
    "mistake-conditioned": ("mistake-conditioned", {}),
}


class Command(BaseCommand):
    help = (
        "Load the demo: four sports, a synthetic gallery of coaching clips with narrations, a dozen mistake "
        f"queries, the built-in retrieval methods, and the accounts {RESEARCHER} and {', '.join(COACHES)} "
        f"(password {DEMO_PASSWORD})."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="do nothing when the database already holds clips, queries or the demo researcher (make run)",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="render the demo videos again and reset the demo accounts' passwords and roles",
        )
        parser.add_argument(
            "--folder",
            type=command_args.path,
            default=None,
            help="where the videos and manifests go (default: MEDIA_ROOT/demo)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_empty"] and options["force"]:
            raise CommandError("--if-empty and --force contradict each other: give one of them.")
        if options["if_empty"]:
            reason = _not_empty()
            if reason:
                self.stdout.write(f"Skipping the demo data: {reason} (seed_demo without --if-empty adds the rest).")
                return
        folder = (options["folder"] or Path(settings.MEDIA_ROOT) / "demo").expanduser().resolve()
        self.stdout.write(f"Rendering the demo videos into {folder} ...")
        try:
            files = build_demo(folder, force=options["force"])
        except OSError as exc:
            raise CommandError(f"could not write the demo videos to {folder}: {exc}. Check MEDIA_ROOT.") from None
        self.stdout.write(f"  {files.rendered} video(s) rendered, the others were already there.")
        _name_sports()
        call_command("import_gallery", str(files.gallery_manifest), "--no-progress", stdout=self.stdout)
        call_command("import_queries", str(files.queries_manifest), "--no-progress", stdout=self.stdout)
        created_methods = _create_methods()
        if created_methods:
            self.stdout.write(f"Retrieval methods added: {', '.join(created_methods)}.")
        created_users = _create_accounts(reset=options["force"])
        if created_users:
            self.stdout.write(f"Accounts added: {', '.join(created_users)}.")
        ensure_demo_coach_profiles(COACHES)
        study = start_demo_study(COACHES)
        if study is not None:
            self.stdout.write(
                f"Demo study “{study.title}” created: it goes live once the worker has generated the "
                "methods' candidates (about a minute after it starts)."
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo ready: {Clip.objects.filter(external_id__startswith='demo-').count()} clips, "
                f"{MistakeQuery.objects.filter(external_id__startswith='demo-').count()} mistake queries.\n"
                f"  researcher (admin): {RESEARCHER} / {DEMO_PASSWORD}\n"
                f"  coaches:            {', '.join(COACHES)} / {DEMO_PASSWORD}"
            )
        )


def _not_empty() -> str:
    if Clip.objects.exists():
        return "the gallery already has clips"
    if MistakeQuery.objects.exists():
        return "there are mistake queries already"
    if get_user_model().objects.filter(username=RESEARCHER).exists():
        return f"the account {RESEARCHER!r} exists"
    return ""


def _name_sports() -> None:
    """Create the sports with display names first; the importers would name them from the slug."""
    for skill in SKILLS:
        Sport.objects.get_or_create(slug=skill.sport, defaults={"name": skill.sport_name})


def _create_methods() -> list[str]:
    created = []
    for name, (backend, params) in DEMO_METHODS.items():
        try:
            cls = backend_class(backend)
            cls.validate_params(params)
        except (BackendNotFound, BackendParamsError):
            continue  # a backend this installation lacks is simply not offered
        description = " ".join(part for part in (cls.description, cls.weak_baseline_warning(params)) if part)
        _, was_created = RetrievalMethod.objects.get_or_create(
            name=name, defaults={"backend": backend, "params": params, "description": description}
        )
        if was_created:
            created.append(name)
    return created


@transaction.atomic
def _create_accounts(*, reset: bool) -> list[str]:
    """The researcher is a superuser, so the admin shows every model, including those later features add.

    Existing accounts are left alone unless ``reset``: someone may have changed a password on purpose.
    """
    user_model = get_user_model()
    created = []
    wanted = [(RESEARCHER, "Demo", "Researcher", True)]
    wanted += [(name, "Demo", f"Coach {name[-1]}", False) for name in COACHES]
    for username, first, last, is_researcher in wanted:
        user = user_model.objects.filter(username=username).first()
        if user is not None and not reset:
            continue
        if user is None:
            user = user_model(username=username)
            created.append(username)
        user.first_name, user.last_name = first, last
        user.email = f"{username}@example.org"
        user.is_staff = user.is_superuser = is_researcher
        user.is_active = True
        user.set_password(DEMO_PASSWORD)
        user.save()
    return created

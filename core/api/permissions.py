"""Who may call what. Researchers are active staff users; what they may change follows model permissions."""

from __future__ import annotations

from rest_framework.permissions import BasePermission, DjangoModelPermissions


class IsResearcher(BasePermission):
    message = "This endpoint is for researchers (staff accounts); ask an administrator for access."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_active and user.is_staff)


class ResearcherModelPermissions(DjangoModelPermissions):
    """Staff, and for every method (reads included) the matching model permission."""

    message = "Your account lacks the permission for this; ask an administrator to grant it."
    perms_map = {
        **DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
    }

    def has_permission(self, request, view) -> bool:
        if not IsResearcher().has_permission(request, view):
            # A coach's token: say what the endpoint is for, not which permission is missing.
            self.message = IsResearcher.message
            return False
        return super().has_permission(request, view)


class IsCoach(BasePermission):
    """Any signed-in active user may ask for their own tasks; what they see is limited to their own rows."""

    message = "Sign in as a coach to get tasks."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_active)

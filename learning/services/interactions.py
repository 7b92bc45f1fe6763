"""Instructor interactions (002 "Instructor Interaction Requirement"), recorded per enrollment and instructor."""

from datetime import datetime

from django.db import transaction

from learning import remote
from learning.errors import InvalidStatusChange
from learning.models import Enrollment, Interaction, InteractionKind, LmsUser
from learning.services.enrollments import lifecycle_base


@transaction.atomic
def interaction_record(*, enrollment: Enrollment, kind: str, recorded_by: LmsUser, now: datetime,
                       quantity: int = 1, instructor: LmsUser | None = None, note: str = "") -> Interaction:
    """Records one interaction; the first time the requirement is met, revenue hears ``interaction_met``."""
    from learning.selectors import interaction_status

    if kind not in InteractionKind.values:
        raise InvalidStatusChange(f"Unknown interaction kind {kind!r}.")
    if quantity < 1:
        raise InvalidStatusChange("The quantity must be at least 1.")
    enrollment = (Enrollment.objects.select_for_update(of=("self",))
                  .select_related("user", "course", "program", "instructor").get(pk=enrollment.pk))
    instructor = instructor or enrollment.instructor or recorded_by
    was_met = interaction_status(enrollment=enrollment).eligible
    interaction = Interaction.objects.create(enrollment=enrollment, instructor=instructor, kind=kind,
                                             quantity=quantity, recorded_by=recorded_by, note=note[:500],
                                             occurred_at=now)
    if enrollment.instructor_id is None and kind != InteractionKind.MANUAL_VERIFICATION:
        enrollment.instructor = instructor
        enrollment.save(update_fields=["instructor"])
    status = interaction_status(enrollment=enrollment)
    if status.eligible and not was_met:
        payload = {**lifecycle_base(enrollment), "metAt": now}
        if enrollment.instructor_id:
            payload["instructorId"] = str(enrollment.instructor_id)
            if enrollment.instructor.commerce_user_id:
                payload["instructorCommerceUserId"] = enrollment.instructor.commerce_user_id
        remote.enrollment_lifecycle_send(event="enrollment.interaction_met", payload=payload)
    return interaction

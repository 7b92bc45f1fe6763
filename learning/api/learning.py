"""The Learning API of shared/API.md ("Learning"), for mobile clients: one APIView per operation.

Every operation names the access right it needs and asks :func:`learning.permissions.access_check`
for the department (or course) it touches; learners reach only their own enrollments.
"""

from django.db.models import Q
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from integration.contracts import CurrencyField, ErrorSerializer, MoneyField
from integration.money import quantize
from integration.pagination import CursorPagination
from learning import selectors
from learning.authentication import CommerceBearerAuthentication, LmsSessionAuthentication
from learning.errors import (
    AccessDenied,
    CourseNotFound,
    DepartmentNotFound,
    EnrollmentNotFound,
    ExamNotFound,
    LessonNotInCourse,
)
from learning.models import (
    Certificate,
    Course,
    CourseStaffRole,
    Department,
    Enrollment,
    EnrollmentStatus,
    Exam,
    InteractionKind,
    Lesson,
    Membership,
    Program,
    PublishStatus,
    QuestionKind,
    StaffRole,
)
from learning.permissions import Right, access_check, departments_where, is_global_admin
from learning.services import catalog as catalog_services
from learning.services.enrollments import enrollment_approve, enrollment_reject
from learning.services.interactions import interaction_record
from learning.services.memberships import lms_user_for_email, membership_grant, membership_revoke
from learning.services.progress import access_enrollment, exam_attempt_submit, lesson_complete

ERROR = ErrorSerializer


def _uuid_get(model, pk, error, **related):
    queryset = model.objects.select_related(*related.get("related", ()))
    try:
        found = queryset.filter(pk=pk).first()
    except Exception:  # not a UUID
        found = None
    if found is None:
        raise error()
    return found


def _require(user, right: str, *, department=None, course=None) -> None:
    if not access_check(user=user, right=right, department=department, course=course):
        raise AccessDenied(details={"right": right})


def _enrollment_department(enrollment: Enrollment):
    return enrollment.course.department if enrollment.course_id else enrollment.program.department


class LmsApi(APIView):
    authentication_classes = [CommerceBearerAuthentication, LmsSessionAuthentication]
    permission_classes = [IsAuthenticated]
    # Read by the schema generator: a list answer is documented as a page ({results, next, previous}).
    pagination_class = CursorPagination

    def paginate(self, queryset, serializer_class, ordering="-created_at"):
        paginator = CursorPagination()
        paginator.ordering = ordering
        page = paginator.paginate_queryset(queryset, self.request, view=self)
        return paginator.get_paginated_response(serializer_class(page, many=True).data)


# --- departments ---------------------------------------------------------------

class DepartmentOutput(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    parentId = serializers.SerializerMethodField()
    depth = serializers.IntegerField()
    path = serializers.CharField()

    def get_parentId(self, obj) -> str | None:
        parent = obj.get_parent()
        return str(parent.pk) if parent else None


class DepartmentListApi(LmsApi):
    @extend_schema_serializer(component_name="LmsDepartmentCreate")
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=200)
        parentId = serializers.UUIDField(required=False, allow_null=True)

    @extend_schema(operation_id="lms_departments_list", tags=["lms"], responses={200: DepartmentOutput(many=True)},
                   parameters=[OpenApiParameter("q", str, description="search in the departments' names")])
    def get(self, request):
        queryset = departments_where(user=request.user, right=Right.COURSE_READ)
        if q := request.query_params.get("q", "").strip():
            queryset = queryset.filter(name__icontains=q)
        return self.paginate(queryset, DepartmentOutput, ordering="path")

    @extend_schema(operation_id="lms_departments_create", tags=["lms"], request=InputSerializer,
                   responses={201: DepartmentOutput, 400: ERROR, 403: ERROR, 404: ERROR})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        parent = None
        if data.validated_data.get("parentId"):
            parent = _uuid_get(Department, data.validated_data["parentId"], DepartmentNotFound)
            _require(request.user, Right.DEPARTMENT_MANAGE, department=parent)
        elif not is_global_admin(request.user):
            raise AccessDenied("Only a global admin creates a top-level department.")
        department = catalog_services.department_create(name=data.validated_data["name"], parent=parent)
        return Response(DepartmentOutput(department).data, status=201)


class MembershipOutput(serializers.Serializer):
    id = serializers.CharField()
    departmentId = serializers.CharField(source="department_id")
    lmsUserId = serializers.CharField(source="user_id")
    email = serializers.CharField(source="user.email")
    role = serializers.CharField()
    grantedAt = serializers.DateTimeField(source="granted_at")


class DepartmentMembershipsApi(LmsApi):
    @extend_schema_serializer(component_name="LmsMembershipCreate")
    class InputSerializer(serializers.Serializer):
        email = serializers.EmailField()
        role = serializers.ChoiceField(StaffRole.values)

    @extend_schema(operation_id="lms_memberships_list", tags=["lms"],
                   responses={200: MembershipOutput(many=True), 403: ERROR, 404: ERROR})
    def get(self, request, department_id):
        department = _uuid_get(Department, department_id, DepartmentNotFound)
        _require(request.user, Right.MEMBERSHIP_MANAGE, department=department)
        queryset = Membership.objects.filter(department=department).select_related("user")
        return self.paginate(queryset, MembershipOutput, ordering="-granted_at")

    @extend_schema(operation_id="lms_memberships_create", tags=["lms"], request=InputSerializer,
                   responses={201: MembershipOutput, 400: ERROR, 403: ERROR, 404: ERROR})
    def post(self, request, department_id):
        department = _uuid_get(Department, department_id, DepartmentNotFound)
        _require(request.user, Right.MEMBERSHIP_MANAGE, department=department)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        now = timezone.now()
        user = lms_user_for_email(email=data.validated_data["email"], now=now)
        membership = membership_grant(user=user, department=department, role=data.validated_data["role"],
                                      granted_by=request.user, now=now)
        return Response(MembershipOutput(membership).data, status=201)


class MembershipDeleteApi(LmsApi):
    @extend_schema(operation_id="lms_memberships_delete", tags=["lms"], responses={204: None, 403: ERROR, 404: ERROR})
    def delete(self, request, membership_id):
        membership = Membership.objects.select_related("department").filter(pk=membership_id).first()
        if membership is None:
            raise DepartmentNotFound("No such membership.")
        _require(request.user, Right.MEMBERSHIP_MANAGE, department=membership.department)
        membership_revoke(membership=membership)
        return Response(status=204)


# --- courses and programs -------------------------------------------------------

class OfferingOutput(serializers.Serializer):
    id = serializers.CharField()
    departmentId = serializers.CharField(source="department_id")
    title = serializers.CharField()
    description = serializers.CharField()
    status = serializers.CharField()
    suggestedPrice = serializers.SerializerMethodField(help_text="A decimal string in the currency's minor unit")
    currency = serializers.CharField()
    durationWeeks = serializers.IntegerField(source="duration_weeks", allow_null=True)
    thumbnailUrl = serializers.CharField(source="thumbnail_url")
    instructorName = serializers.CharField(source="instructor_name")
    requiresApproval = serializers.BooleanField(source="requires_approval")
    updatedAt = serializers.DateTimeField(source="updated_at")


    def get_suggestedPrice(self, obj) -> str:
        return str(quantize(obj.suggested_price, obj.currency))


class ProgramOutput(OfferingOutput):
    kind = serializers.CharField()
    courseIds = serializers.SerializerMethodField()

    def get_courseIds(self, obj) -> list[str]:
        return [str(pc.course_id) for pc in obj.program_courses.all()]


class OfferingInput(serializers.Serializer):
    departmentId = serializers.UUIDField()
    title = serializers.CharField(max_length=255)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    suggestedPrice = MoneyField(min_value=0)
    currency = CurrencyField()
    durationWeeks = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=520)
    requiresApproval = serializers.BooleanField(required=False, default=False)
    thumbnailUrl = serializers.URLField(required=False, allow_blank=True, default="")
    instructorName = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)


def _visible(model, user, *, department_field="department"):
    """Staff see their departments' offerings in every status; everyone sees the published ones."""
    departments = departments_where(user=user, right=Right.COURSE_READ)
    return model.objects.filter(Q(status=PublishStatus.PUBLISHED) | Q(**{f"{department_field}__in": departments}))


def _filter(queryset, request):
    params = request.query_params
    if q := params.get("q", "").strip():
        queryset = queryset.filter(Q(title__icontains=q) | Q(description__icontains=q))
    if status := params.get("status"):
        queryset = queryset.filter(status=status)
    if department_id := params.get("departmentId"):
        try:
            department = Department.objects.filter(pk=department_id).first()
        except Exception:
            department = None
        queryset = queryset.filter(department__path__startswith=department.path) if department else queryset.none()
    return queryset


class CourseListApi(LmsApi):
    @extend_schema_serializer(component_name="LmsCourseCreate")
    class InputSerializer(OfferingInput):
        pass

    @extend_schema(operation_id="lms_courses_list", tags=["lms"], responses={200: OfferingOutput(many=True)})
    def get(self, request):
        queryset = _filter(_visible(Course, request.user), request).distinct()
        return self.paginate(queryset, OfferingOutput)

    @extend_schema(operation_id="lms_courses_create", tags=["lms"], request=InputSerializer,
                   responses={201: OfferingOutput, 400: ERROR, 403: ERROR, 404: ERROR})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        department = _uuid_get(Department, values["departmentId"], DepartmentNotFound)
        _require(request.user, Right.COURSE_MANAGE, department=department)
        course = catalog_services.course_create(
            department=department, title=values["title"], description=values["description"],
            suggested_price=values["suggestedPrice"], currency=values["currency"],
            duration_weeks=values.get("durationWeeks"), requires_approval=values["requiresApproval"],
            thumbnail_url=values["thumbnailUrl"], instructor_name=values["instructorName"], now=timezone.now())
        return Response(OfferingOutput(course).data, status=201)


class ProgramListApi(LmsApi):
    @extend_schema_serializer(component_name="LmsProgramCreate")
    class InputSerializer(OfferingInput):
        kind = serializers.ChoiceField(["certificate", "degree"], required=False, default="certificate")
        courseIds = serializers.ListField(child=serializers.UUIDField(), required=False, default=list)

    @extend_schema(operation_id="lms_programs_list", tags=["lms"], responses={200: ProgramOutput(many=True)})
    def get(self, request):
        queryset = _filter(_visible(Program, request.user), request).distinct().prefetch_related("program_courses")
        return self.paginate(queryset, ProgramOutput)

    @extend_schema(operation_id="lms_programs_create", tags=["lms"], request=InputSerializer,
                   responses={201: ProgramOutput, 400: ERROR, 403: ERROR, 404: ERROR})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        department = _uuid_get(Department, values["departmentId"], DepartmentNotFound)
        _require(request.user, Right.PROGRAM_MANAGE, department=department)
        courses = {c.pk: c for c in Course.objects.filter(pk__in=values["courseIds"])}
        missing = [str(pk) for pk in values["courseIds"] if pk not in courses]
        if missing:
            raise CourseNotFound(details={"courseIds": missing})
        program = catalog_services.program_create(
            department=department, title=values["title"], description=values["description"], kind=values["kind"],
            suggested_price=values["suggestedPrice"], currency=values["currency"],
            duration_weeks=values.get("durationWeeks"), requires_approval=values["requiresApproval"],
            thumbnail_url=values["thumbnailUrl"], instructor_name=values["instructorName"],
            courses=[courses[pk] for pk in values["courseIds"]],
            now=timezone.now())
        return Response(ProgramOutput(program).data, status=201)


def _course(course_id) -> Course:
    return _uuid_get(Course, course_id, CourseNotFound, related=("department",))


class CoursePublishApi(LmsApi):
    @extend_schema(operation_id="lms_courses_publish", tags=["lms"], request=None,
                   responses={200: OfferingOutput, 403: ERROR, 404: ERROR})
    def post(self, request, course_id):
        course = _course(course_id)
        _require(request.user, Right.COURSE_MANAGE, course=course)
        return Response(OfferingOutput(catalog_services.course_publish(course=course, now=timezone.now())).data)


class CourseArchiveApi(LmsApi):
    @extend_schema(operation_id="lms_courses_archive", tags=["lms"], request=None,
                   responses={200: OfferingOutput, 403: ERROR, 404: ERROR})
    def post(self, request, course_id):
        course = _course(course_id)
        _require(request.user, Right.COURSE_MANAGE, course=course)
        return Response(OfferingOutput(catalog_services.course_archive(course=course, now=timezone.now())).data)


class CourseStaffApi(LmsApi):
    @extend_schema_serializer(component_name="LmsCourseStaffCreate")
    class InputSerializer(serializers.Serializer):
        email = serializers.EmailField()
        role = serializers.ChoiceField(CourseStaffRole.values)

    @extend_schema_serializer(component_name="LmsCourseStaff")
    class OutputSerializer(serializers.Serializer):
        courseId = serializers.CharField(source="course_id")
        lmsUserId = serializers.CharField(source="user_id")
        email = serializers.CharField(source="user.email")
        commerceUserId = serializers.CharField(source="user.commerce_user_id", allow_null=True)
        role = serializers.CharField()

    @extend_schema(operation_id="lms_courses_staff_add", tags=["lms"], request=InputSerializer,
                   responses={201: OutputSerializer, 400: ERROR, 403: ERROR, 404: ERROR})
    def post(self, request, course_id):
        course = _course(course_id)
        _require(request.user, Right.COURSE_MANAGE, course=course)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        now = timezone.now()
        user = lms_user_for_email(email=data.validated_data["email"], now=now)
        staff = catalog_services.course_staff_assign(course=course, user=user, role=data.validated_data["role"],
                                                     now=now)
        return Response(self.OutputSerializer(staff).data, status=201)


# --- content ----------------------------------------------------------------------

def _require_course_reader(user, course: Course) -> None:
    """Staff with the read right, or a learner whose enrollment opens the course."""
    if access_check(user=user, right=Right.COURSE_READ, course=course):
        return
    if access_enrollment(user=user, course=course) is None:
        raise AccessDenied(details={"right": Right.COURSE_READ})


class LessonOutput(serializers.Serializer):
    id = serializers.CharField()
    courseId = serializers.CharField(source="course_id")
    position = serializers.IntegerField()
    title = serializers.CharField()
    body = serializers.CharField()
    videoUrl = serializers.CharField(source="video_url")
    attachmentUrl = serializers.SerializerMethodField()

    def get_attachmentUrl(self, obj) -> str | None:
        return obj.attachment.url if obj.attachment else None


class CourseLessonsApi(LmsApi):
    @extend_schema_serializer(component_name="LmsLessonCreate")
    class InputSerializer(serializers.Serializer):
        title = serializers.CharField(max_length=255)
        body = serializers.CharField(required=False, allow_blank=True, default="")
        videoUrl = serializers.URLField(required=False, allow_blank=True, default="")

    @extend_schema(operation_id="lms_lessons_list", tags=["lms"],
                   responses={200: LessonOutput(many=True), 403: ERROR, 404: ERROR})
    def get(self, request, course_id):
        course = _course(course_id)
        _require_course_reader(request.user, course)
        return self.paginate(Lesson.objects.filter(course=course), LessonOutput, ordering="position")

    @extend_schema(operation_id="lms_lessons_create", tags=["lms"], request=InputSerializer,
                   responses={201: LessonOutput, 400: ERROR, 403: ERROR, 404: ERROR})
    def post(self, request, course_id):
        course = _course(course_id)
        _require(request.user, Right.COURSE_MANAGE, course=course)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        lesson = catalog_services.lesson_create(course=course, title=data.validated_data["title"],
                                                body=data.validated_data["body"],
                                                video_url=data.validated_data["videoUrl"], now=timezone.now())
        return Response(LessonOutput(lesson).data, status=201)


class QuestionOutput(serializers.Serializer):
    id = serializers.CharField()
    position = serializers.IntegerField()
    kind = serializers.CharField()
    prompt = serializers.CharField()
    choices = serializers.ListField(child=serializers.CharField())
    selectAll = serializers.BooleanField(source="select_all", help_text="Several choices are right: answer with "
                                                                          "the list of every right index")
    points = serializers.IntegerField()


class ExamOutput(serializers.Serializer):
    id = serializers.CharField()
    courseId = serializers.CharField(source="course_id")
    title = serializers.CharField()
    passMark = serializers.IntegerField(source="pass_mark")
    maxAttempts = serializers.IntegerField(source="max_attempts")
    questions = QuestionOutput(many=True, source="questions.all")


class QuestionInput(serializers.Serializer):
    kind = serializers.ChoiceField(QuestionKind.values)
    prompt = serializers.CharField(max_length=5000)
    choices = serializers.ListField(child=serializers.CharField(max_length=500), required=False, default=list)
    correctChoice = serializers.IntegerField(required=False, allow_null=True, min_value=0)
    correctChoices = serializers.ListField(child=serializers.IntegerField(min_value=0), required=False,
                                           max_length=20, help_text="Several right answers (select all that apply)")
    points = serializers.IntegerField(required=False, default=1, min_value=1, max_value=100)


class CourseExamsApi(LmsApi):
    @extend_schema_serializer(component_name="LmsExamCreate")
    class InputSerializer(serializers.Serializer):
        title = serializers.CharField(max_length=255)
        passMark = serializers.IntegerField(min_value=0, max_value=100, default=70)
        maxAttempts = serializers.IntegerField(min_value=1, max_value=100, default=3)
        questions = QuestionInput(many=True, allow_empty=False)

    @extend_schema(operation_id="lms_exams_list", tags=["lms"],
                   responses={200: ExamOutput(many=True), 403: ERROR, 404: ERROR})
    def get(self, request, course_id):
        course = _course(course_id)
        _require_course_reader(request.user, course)
        queryset = Exam.objects.filter(course=course).prefetch_related("questions")
        return self.paginate(queryset, ExamOutput)

    @extend_schema(operation_id="lms_exams_create", tags=["lms"], request=InputSerializer,
                   responses={201: ExamOutput, 400: ERROR, 403: ERROR, 404: ERROR, 422: ERROR})
    def post(self, request, course_id):
        course = _course(course_id)
        _require(request.user, Right.COURSE_MANAGE, course=course)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        exam = catalog_services.exam_create(course=course, title=values["title"], pass_mark=values["passMark"],
                                            max_attempts=values["maxAttempts"], questions=values["questions"],
                                            now=timezone.now())
        return Response(ExamOutput(exam).data, status=201)


# --- the learner --------------------------------------------------------------------

class EnrollmentOutput(serializers.Serializer):
    id = serializers.CharField(source="enrollment.id")
    courseId = serializers.CharField(source="enrollment.course_id", allow_null=True)
    programId = serializers.CharField(source="enrollment.program_id", allow_null=True)
    classId = serializers.CharField(source="enrollment.course_class_id", allow_null=True)
    title = serializers.CharField(source="enrollment.offering.title")
    status = serializers.CharField(source="enrollment.status")
    source = serializers.CharField(source="enrollment.source")
    commerceOrderId = serializers.CharField(source="enrollment.commerce_order_id")
    grantedAt = serializers.DateTimeField(source="enrollment.granted_at")
    expiresAt = serializers.DateTimeField(source="enrollment.expires_at", allow_null=True)
    completedAt = serializers.DateTimeField(source="enrollment.completed_at", allow_null=True)
    lessonsDone = serializers.IntegerField(source="done")
    lessonsTotal = serializers.IntegerField(source="total")
    progressPercent = serializers.IntegerField(source="percent")


class MyEnrollmentsApi(LmsApi):
    @extend_schema(operation_id="lms_me_enrollments", tags=["lms"], responses={200: EnrollmentOutput(many=True), 400: ERROR},
                   parameters=[OpenApiParameter("status", str, enum=EnrollmentStatus.values, many=True,
                                                description="only these (default: pending, active, completed "
                                                            "and expired); repeat for more than one")])
    def get(self, request):
        statuses = request.query_params.getlist("status")
        unknown = sorted(set(statuses) - set(EnrollmentStatus.values))
        if unknown:
            raise serializers.ValidationError({"status": [f"Unknown status {', '.join(unknown)}; one of "
                                                          f"{', '.join(EnrollmentStatus.values)}."]})
        rows = selectors.my_enrollments(user=request.user, statuses=statuses or None)
        return Response({"results": EnrollmentOutput(rows, many=True).data, "next": None, "previous": None})


def _own_enrollment(request, enrollment_id) -> Enrollment:
    enrollment = _uuid_get(Enrollment, enrollment_id, EnrollmentNotFound,
                           related=("course__department", "program__department", "user"))
    if enrollment.user_id != request.user.pk:
        raise EnrollmentNotFound()
    return enrollment


class EnrollmentProgressApi(LmsApi):
    @extend_schema_serializer(component_name="LmsProgressCreate")
    class InputSerializer(serializers.Serializer):
        lessonId = serializers.UUIDField()

    @extend_schema_serializer(component_name="LmsProgress")
    class OutputSerializer(serializers.Serializer):
        enrollmentId = serializers.CharField()
        lessonId = serializers.CharField()
        courseCompleted = serializers.BooleanField()
        lessonsDone = serializers.IntegerField()
        lessonsTotal = serializers.IntegerField()
        progressPercent = serializers.IntegerField()
        status = serializers.CharField()

    @extend_schema(operation_id="lms_enrollments_progress", tags=["lms"], request=InputSerializer,
                   responses={200: OutputSerializer, 400: ERROR, 403: ERROR, 404: ERROR, 422: ERROR})
    def post(self, request, enrollment_id):
        enrollment = _own_enrollment(request, enrollment_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        lesson = Lesson.objects.select_related("course").filter(pk=data.validated_data["lessonId"]).first()
        if lesson is None:
            raise LessonNotInCourse(details={"lessonId": str(data.validated_data["lessonId"])})
        completed = lesson_complete(enrollment=enrollment, lesson=lesson, user=request.user, now=timezone.now())
        player = selectors.course_player(user=request.user, course_id=lesson.course_id)
        enrollment.refresh_from_db(fields=["status"])
        return Response(self.OutputSerializer({
            "enrollmentId": str(enrollment.pk), "lessonId": str(lesson.pk), "courseCompleted": completed,
            "lessonsDone": len(player.done_ids), "lessonsTotal": len(player.lessons),
            "progressPercent": player.percent, "status": enrollment.status}).data)


class AttemptOutput(serializers.Serializer):
    id = serializers.CharField()
    examId = serializers.CharField(source="exam_id")
    number = serializers.IntegerField()
    status = serializers.CharField()
    scorePercent = MoneyField(source="score_percent", allow_null=True)
    passed = serializers.BooleanField(allow_null=True)
    submittedAt = serializers.DateTimeField(source="submitted_at")


class ExamAttemptsApi(LmsApi):
    @extend_schema_serializer(component_name="LmsAttemptCreate")
    class InputSerializer(serializers.Serializer):
        answers = serializers.DictField(child=serializers.JSONField(), allow_empty=True,
                                        help_text="{questionId: choice index (multiple choice) or text}")

    @extend_schema(operation_id="lms_exams_attempt", tags=["lms"], request=InputSerializer,
                   responses={201: AttemptOutput, 400: ERROR, 403: ERROR, 404: ERROR, 409: ERROR, 422: ERROR})
    def post(self, request, exam_id):
        exam = _uuid_get(Exam, exam_id, ExamNotFound, related=("course",))
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        attempt = exam_attempt_submit(user=request.user, exam=exam, answers=data.validated_data["answers"],
                                      now=timezone.now())
        return Response(AttemptOutput(attempt).data, status=201)


class CertificateOutput(serializers.Serializer):
    code = serializers.CharField()
    title = serializers.CharField()
    courseId = serializers.CharField(source="course_id", allow_null=True)
    programId = serializers.CharField(source="program_id", allow_null=True)
    grade = MoneyField(allow_null=True)
    issuedAt = serializers.DateTimeField(source="issued_at")
    url = serializers.SerializerMethodField()
    pdfUrl = serializers.SerializerMethodField()

    def get_url(self, obj) -> str:
        return f"/certificates/{obj.code}/"

    def get_pdfUrl(self, obj) -> str:
        return f"/certificates/{obj.code}/pdf/"


class MyCertificatesApi(LmsApi):
    @extend_schema(operation_id="lms_me_certificates", tags=["lms"], responses={200: CertificateOutput(many=True)})
    def get(self, request):
        return self.paginate(Certificate.objects.filter(user=request.user), CertificateOutput, ordering="-issued_at")


# --- staff on enrollments -------------------------------------------------------------

class EnrollmentDecisionOutput(serializers.Serializer):
    id = serializers.CharField()
    status = serializers.CharField()
    decidedAt = serializers.DateTimeField(source="decided_at", allow_null=True)
    decidedBy = serializers.CharField(source="decided_by")


def _staff_enrollment(request, enrollment_id, right: str) -> Enrollment:
    enrollment = _uuid_get(Enrollment, enrollment_id, EnrollmentNotFound,
                           related=("course__department", "program__department", "user"))
    if enrollment.course_id:
        _require(request.user, right, course=enrollment.course)
    else:
        _require(request.user, right, department=enrollment.program.department)
    return enrollment


class EnrollmentApproveApi(LmsApi):
    @extend_schema(operation_id="lms_enrollments_approve", tags=["lms"], request=None,
                   responses={200: EnrollmentDecisionOutput, 403: ERROR, 404: ERROR, 409: ERROR})
    def post(self, request, enrollment_id):
        enrollment = _staff_enrollment(request, enrollment_id, Right.ENROLLMENT_MANAGE)
        enrollment = enrollment_approve(enrollment=enrollment, actor=request.user, now=timezone.now())
        return Response(EnrollmentDecisionOutput(enrollment).data)


class EnrollmentRejectApi(LmsApi):
    @extend_schema_serializer(component_name="LmsEnrollmentReject")
    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")

    @extend_schema(operation_id="lms_enrollments_reject", tags=["lms"], request=InputSerializer,
                   responses={200: EnrollmentDecisionOutput, 403: ERROR, 404: ERROR, 409: ERROR})
    def post(self, request, enrollment_id):
        enrollment = _staff_enrollment(request, enrollment_id, Right.ENROLLMENT_MANAGE)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        enrollment = enrollment_reject(enrollment=enrollment, actor=request.user,
                                       reason=data.validated_data["reason"], now=timezone.now())
        return Response(EnrollmentDecisionOutput(enrollment).data)


class EnrollmentInteractionsApi(LmsApi):
    @extend_schema_serializer(component_name="LmsInteractionCreate")
    class InputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(InteractionKind.values)
        quantity = serializers.IntegerField(required=False, default=1, min_value=1, max_value=100000)
        note = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")

    @extend_schema_serializer(component_name="LmsInteraction")
    class OutputSerializer(serializers.Serializer):
        id = serializers.CharField()
        enrollmentId = serializers.CharField(source="enrollment_id")
        instructorId = serializers.CharField(source="instructor_id")
        kind = serializers.CharField()
        quantity = serializers.IntegerField()
        occurredAt = serializers.DateTimeField(source="occurred_at")
        requirementMet = serializers.SerializerMethodField()

        def get_requirementMet(self, obj) -> bool:
            return selectors.interaction_status(enrollment=obj.enrollment).eligible

    @extend_schema(operation_id="lms_enrollments_interactions", tags=["lms"], request=InputSerializer,
                   responses={201: OutputSerializer, 400: ERROR, 403: ERROR, 404: ERROR})
    def post(self, request, enrollment_id):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        kind = data.validated_data["kind"]
        right = Right.INTERACTION_VERIFY if kind == InteractionKind.MANUAL_VERIFICATION else Right.INTERACTION_RECORD
        enrollment = _staff_enrollment(request, enrollment_id, right)
        interaction = interaction_record(enrollment=enrollment, kind=kind, quantity=data.validated_data["quantity"],
                                         note=data.validated_data["note"], recorded_by=request.user,
                                         instructor=None if kind == InteractionKind.MANUAL_VERIFICATION
                                         else request.user, now=timezone.now())
        return Response(self.OutputSerializer(interaction).data, status=201)


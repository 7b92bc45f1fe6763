"""The LMS's demo data for ``manage.py seed_demo`` (idempotent): a department tree, published courses with
lessons and an exam, a program, a course that needs approval, staff and learners with progress."""

from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from learning import remote
from learning.models import Course, Department, LmsUser, LmsUserType, Program, PublishStatus
from learning.services import catalog as catalog_services
from learning.services.enrollments import enrollment_create_manual, live_enrollment
from learning.services.memberships import membership_grant
from learning.services.progress import lesson_complete
from learning.services.users import lms_user_sync_from_commerce

TREE = [("Cadence University", None), ("School of Technology", "Cadence University"),
        ("Web Development", "School of Technology"), ("Data Science", "School of Technology"),
        ("School of Business", "Cadence University")]

COURSES = [
    {"title": "Python for Beginners", "department": "Web Development", "price": "199.00", "weeks": 6,
     "description": "Variables, functions, files and tests: write your first useful Python programs.",
     "lessons": [("Installing Python", "Install Python 3 and an editor, then run your first script."),
                 ("Values and variables", "Numbers, strings and lists, and how names refer to them."),
                 ("Functions", "Define functions with parameters and return values; keep them small.")],
     "exam": [{"kind": "multiple_choice", "prompt": "What does len([1, 2, 3]) return?",
               "choices": ["2", "3", "6"], "correctChoice": 1},
              {"kind": "multiple_choice", "prompt": "Which keyword defines a function?",
               "choices": ["def", "fun", "lambda only"], "correctChoice": 0}]},
    {"title": "Django in Depth", "department": "Web Development", "price": "299.00", "weeks": 8, "approval": True,
     "description": "Models, views, forms and the ORM, with a mentor who reviews your project.",
     "lessons": [("Projects and apps", "How a Django project is laid out."),
                 ("Models and migrations", "Tables as classes; migrations as their history.")],
     "exam": [{"kind": "short_answer", "prompt": "Explain in two sentences what a migration is.", "points": 2}]},
    {"title": "Data Analysis with Pandas", "department": "Data Science", "price": "149.00", "weeks": 4,
     "description": "Load, clean and summarise data sets with pandas.",
     "lessons": [("Series and DataFrames", "The two shapes of pandas data."),
                 ("Grouping", "Split, apply, combine.")], "exam": []},
    {"title": "Accounting Basics", "department": "School of Business", "price": "99.00", "weeks": 3,
     "description": "Debits, credits and the three financial statements.",
     "lessons": [("The ledger", "Every entry has two sides.")], "exam": []},
]


def _department(name: str, parent: Department | None) -> Department:
    found = (parent.get_children() if parent else Department.get_root_nodes()).filter(name=name).first()
    return found or catalog_services.department_create(name=name, parent=parent)


def _person(email: str, now) -> LmsUser | None:
    found = remote.commerce_user_find(email=email)
    if found is None:
        return None
    return lms_user_sync_from_commerce(commerce_user_id=found[0], email=found[1], now=now)


@transaction.atomic
def seed_learning(*, stdout) -> None:
    now = timezone.now()
    departments: dict[str, Department] = {}
    for name, parent in TREE:
        departments[name] = _department(name, departments.get(parent))
    stdout.write(f"  department tree: {', '.join(departments)}\n")

    courses: dict[str, Course] = {}
    for spec in COURSES:
        course = Course.objects.filter(title=spec["title"]).first()
        if course is None:
            course = catalog_services.course_create(
                department=departments[spec["department"]], title=spec["title"], description=spec["description"],
                suggested_price=Decimal(spec["price"]), currency="USD", duration_weeks=spec["weeks"],
                requires_approval=spec.get("approval", False), instructor_name="Demo Instructor", now=now)
            for title, body in spec["lessons"]:
                catalog_services.lesson_create(course=course, title=title, body=body, now=now)
            if spec["exam"]:
                catalog_services.exam_create(course=course, title=f"{spec['title']}: final exam", pass_mark=50,
                                             max_attempts=3, questions=spec["exam"], now=now)
        if course.status != PublishStatus.PUBLISHED:
            course = catalog_services.course_publish(course=course, now=now)
        courses[spec["title"]] = course
    stdout.write(f"  {len(courses)} published courses (one needs approval), lessons and exams\n")

    program = Program.objects.filter(title="Full-Stack Web Developer").first()
    if program is None:
        program = catalog_services.program_create(
            department=departments["Web Development"], title="Full-Stack Web Developer", kind="certificate",
            description="Python, then Django: two courses, one certificate.", suggested_price=Decimal("449.00"),
            currency="USD", duration_weeks=14,
            courses=[courses["Python for Beginners"], courses["Django in Depth"]], now=now)
    if program.status != PublishStatus.PUBLISHED:
        catalog_services.program_publish(program=program, now=now)
    stdout.write("  program: Full-Stack Web Developer\n")

    admin = _person("admin@example.com", now)
    instructor = _person("instructor@example.com", now)
    creator = _person("creator@example.com", now)
    learner = _person("learner@example.com", now)
    if not all([admin, instructor, creator, learner]):
        stdout.write("  (the store's demo accounts are not reachable here: no staff or enrollments seeded)\n")
        return
    if LmsUserType.GLOBAL_ADMIN not in admin.user_types:
        admin.user_types = [*admin.user_types, LmsUserType.GLOBAL_ADMIN.value]
        admin.save(update_fields=["user_types", "updated_at"])
    membership_grant(user=instructor, department=departments["School of Technology"], role="instructor",
                     granted_by=admin, now=now)
    membership_grant(user=creator, department=departments["Web Development"], role="content-admin",
                     granted_by=admin, now=now)
    for course in courses.values():
        catalog_services.course_staff_assign(course=course, user=instructor, role="instructor", now=now)
        catalog_services.course_staff_assign(course=course, user=creator, role="content-creator", now=now)
    stdout.write("  admin@example.com global-admin; instructor@ and creator@ on every course's staff\n")

    python = courses["Python for Beginners"]
    given = live_enrollment(user=learner, course=python) is None
    if given:
        opened = enrollment_create_manual(user=learner, course=python, expires_at=now + timedelta(days=180), now=now)
        first = python.lessons.order_by("position").first()
        if first is not None:
            lesson_complete(enrollment=opened.enrollment, lesson=first, user=learner, now=now)
    # The learner's other courses are bought in the store's demo orders (seed.orders), not enrolled here:
    # an enrollment given here first would make those purchases pay for what the learner already has.
    stdout.write(f"  {'created' if given else 'kept   '} learner@example.com's enrollment given by staff "
                 f"in {python.title} (in progress)\n")

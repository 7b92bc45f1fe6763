"""Catalog push (spec 5.2: catalog.sync in the same transaction as the change) and the export (6.2.3)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from integration.topics import Topic
from learning.models import Course
from learning.selectors import catalog_export_page
from learning.services import catalog as services
from tests.learning.conftest import service_token
from tests.learning.factories import CourseFactory, ProgramFactory, department

pytestmark = pytest.mark.django_db


def _draft(**kwargs):
    return services.course_create(department=kwargs.pop("department", None) or department("Web"),
                                  title=kwargs.pop("title", "Intro"), suggested_price=Decimal("49.90"),
                                  currency="USD", now=timezone.now(), **kwargs)


def test_publish_sends_an_upsert_with_the_spec_shape(outbox):
    course = _draft(duration_weeks=4, thumbnail_url="https://example.com/t.png")
    assert outbox(Topic.CATALOG_SYNC) == []  # a draft is not in the store
    services.course_publish(course=course, now=timezone.now())
    [message] = outbox(Topic.CATALOG_SYNC)
    assert message["source"] == "lms" and message["idempotencyKey"]
    [product] = message["products"]
    assert product == {"action": "upsert", "externalId": str(course.pk), "type": "course", "name": "Intro",
                       "description": "", "suggestedPrice": "49.90", "currency": "USD",
                       "metadata": {"departmentId": str(course.department_id), "departmentName": "Web",
                                    "requiresApproval": False, "durationWeeks": 4,
                                    "thumbnailUrl": "https://example.com/t.png"}}


def test_a_rolled_back_publish_sends_nothing(outbox):
    course = _draft()
    with pytest.raises(RuntimeError), transaction.atomic():
        services.course_publish(course=course, now=timezone.now())
        raise RuntimeError("rolled back")
    assert outbox(Topic.CATALOG_SYNC) == []
    assert Course.objects.get(pk=course.pk).status == "draft"


def test_every_shown_change_is_sent_and_others_are_not(outbox):
    course = services.course_publish(course=_draft(), now=timezone.now())
    services.course_update(course=course, suggested_price=Decimal("59.00"), now=timezone.now())
    services.course_update(course=course, title="Intro, second edition", now=timezone.now())
    services.course_update(course=course, required_discussion_replies=2, now=timezone.now())  # not shown
    services.course_update(course=course, title="Intro, second edition", now=timezone.now())  # no change
    sent = [m["products"][0] for m in outbox(Topic.CATALOG_SYNC)]
    assert [(p["name"], p["suggestedPrice"]) for p in sent] == [
        ("Intro", "49.90"), ("Intro", "59.00"), ("Intro, second edition", "59.00")]


def test_archive_sends_archive_and_program_structure_is_sent(outbox):
    first, second = CourseFactory(), CourseFactory()
    program = services.program_create(department=first.department, title="Track", suggested_price=Decimal("300"),
                                      currency="USD", courses=[first], now=timezone.now())
    services.program_publish(program=program, now=timezone.now())
    services.program_courses_set(program=program, courses=[second, first], now=timezone.now())
    services.program_archive(program=program, now=timezone.now())
    sent = [m["products"][0] for m in outbox(Topic.CATALOG_SYNC)]
    assert [p["action"] for p in sent] == ["upsert", "upsert", "archive"]
    assert sent[1]["metadata"]["courseIds"] == [str(second.pk), str(first.pk)]


def _walk(limit, **filters):
    seen, cursor, pages = [], None, 0
    while True:
        page = catalog_export_page(limit=limit, cursor=cursor, **filters)
        seen += [p["externalId"] for p in page["products"]]
        pages += 1
        if not page["pagination"]["hasMore"]:
            return seen, pages
        cursor = page["pagination"]["nextCursor"]


def test_the_export_walks_every_product_once_oldest_change_first():
    start = timezone.now() - timedelta(days=1)
    courses = [CourseFactory(updated_at=start + timedelta(seconds=n % 3)) for n in range(7)]  # ties on time
    program = ProgramFactory(updated_at=start + timedelta(seconds=10))
    CourseFactory(status="draft", published_at=None)  # never shown
    seen, pages = _walk(3)
    assert sorted(seen) == sorted([str(c.pk) for c in courses] + [str(program.pk)])
    assert len(seen) == len(set(seen)) and pages == 3
    assert _walk(50, product_type="program")[0] == [str(program.pk)]
    assert _walk(50, department_id=str(courses[0].department_id))[0] == [str(courses[0].pk)]
    later = catalog_export_page(updated_since=start + timedelta(seconds=2))
    assert {p["externalId"] for p in later["products"]} >= {str(program.pk)}


def test_an_update_during_the_walk_moves_the_product_to_the_end_and_skips_nothing():
    start = timezone.now() - timedelta(days=1)
    courses = [CourseFactory(updated_at=start + timedelta(seconds=n)) for n in range(4)]
    first = catalog_export_page(limit=2)
    services.course_update(course=courses[0], title="Renamed", now=timezone.now())  # already seen: comes again
    CourseFactory(updated_at=timezone.now())  # inserted meanwhile
    rest = catalog_export_page(limit=10, cursor=first["pagination"]["nextCursor"])
    names = [p["name"] for p in rest["products"]]
    assert [p["externalId"] for p in first["products"]] == [str(courses[0].pk), str(courses[1].pk)]
    assert [p["externalId"] for p in rest["products"][:2]] == [str(courses[2].pk), str(courses[3].pk)]
    assert "Renamed" in names and len(names) == 4


def test_the_export_endpoint_needs_catalog_read_and_refuses_a_bad_cursor(api_client):
    CourseFactory()
    assert api_client.get("/api/v2/commerce/catalog").status_code == 401
    denied = api_client.get("/api/v2/commerce/catalog", HTTP_AUTHORIZATION=f"Bearer {service_token('users:read')}")
    assert denied.status_code == 403
    auth = {"HTTP_AUTHORIZATION": f"Bearer {service_token('catalog:read')}"}
    response = api_client.get("/api/v2/commerce/catalog?limit=1&type=course", **auth)
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True and body["data"]["pagination"] == {"hasMore": False}
    assert body["data"]["products"][0]["status"] == "published"
    bad = api_client.get("/api/v2/commerce/catalog?cursor=garbage", **auth)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_cursor"
    assert api_client.get("/api/v2/commerce/catalog?limit=0", **auth).status_code == 400


def test_the_export_has_every_field_of_spec_6_2_3_by_its_exact_name(outbox):
    """Field by field: products[].{externalId,type,name,description,suggestedPrice,currency,status,metadata,updatedAt},
    metadata.{departmentId,departmentName,instructorName?,durationWeeks?,thumbnailUrl?}, pagination.{nextCursor?,hasMore}."""
    from learning.models import CourseClass

    course = _draft(duration_weeks=6, thumbnail_url="https://example.com/t.png", instructor_name="Ada Lovelace")
    services.course_publish(course=course, now=timezone.now())
    CourseClass.objects.create(course=course, title="Evening", starts_at=timezone.now(),
                               ends_at=timezone.now() + timedelta(days=30), capacity=5, status="published")
    page = catalog_export_page(limit=1)
    assert set(page) == {"products", "pagination"} and set(page["pagination"]) == {"hasMore", "nextCursor"}
    [product] = page["products"]
    assert set(product) == {"externalId", "type", "name", "description", "suggestedPrice", "currency", "status",
                            "metadata", "updatedAt"}
    assert {"departmentId", "departmentName", "instructorName", "durationWeeks", "thumbnailUrl"} <= set(
        product["metadata"])
    assert product["metadata"]["instructorName"] == "Ada Lovelace"
    [the_class] = catalog_export_page(cursor=page["pagination"]["nextCursor"])["products"]
    assert the_class["type"] == "class" and the_class["metadata"]["instructorName"] == "Ada Lovelace"
    [pushed] = outbox(Topic.CATALOG_SYNC)[0]["products"]
    assert pushed["metadata"]["instructorName"] == "Ada Lovelace"
    services.course_update(course=course, instructor_name="Grace Hopper", now=timezone.now())
    assert outbox(Topic.CATALOG_SYNC)[-1]["products"][0]["metadata"]["instructorName"] == "Grace Hopper"
    # Over HTTP, the answer passes the contract and keeps the names.
    from django.test import Client

    response = Client().get("/api/v2/commerce/catalog?limit=1",
                            HTTP_AUTHORIZATION=f"Bearer {service_token('catalog:read')}")
    assert response.status_code == 200
    assert response.json()["data"]["products"][0]["metadata"]["instructorName"] == "Grace Hopper"

import io

import pytest

from identity.seed import seed_identity
from learning.seed import seed_learning
from revenue.models import RevenueConfig
from revenue.seed import seed_revenue

pytestmark = pytest.mark.django_db


def test_seed_gives_every_demo_course_and_program_a_config_once():
    out = io.StringIO()
    seed_identity(stdout=out)
    seed_learning(stdout=out)
    seed_revenue(stdout=out)
    configs = list(RevenueConfig.objects.all())
    assert configs, out.getvalue()
    assert {c.product_type for c in configs} == {"course", "program"}
    assert all(c.instructor_email == "instructor@example.com" and c.creator_email == "creator@example.com"
               for c in configs)
    assert [c.product_title for c in configs if c.release_policy == "on_completion"] == ["Django in Depth"]
    seed_revenue(stdout=out)
    assert RevenueConfig.objects.count() == len(configs)
    assert "created" in out.getvalue() and out.getvalue().rstrip().endswith("kept")

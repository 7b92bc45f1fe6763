"""The shared pieces every app leans on: email after commit, progress output, the in-process scheduler,
and the rule that no model reaches into another app."""

import ast
import io
import threading
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.core import mail
from django.db import transaction

from integration.mail import send_templated_email
from integration.progress import progress

DOMAIN_APPS = ["identity", "catalog", "orders", "payouts", "learning", "revenue"]
ROOT = Path(settings.BASE_DIR)


@pytest.fixture
def test_templates(settings):
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [ROOT / "tests" / "templates", *settings.TEMPLATES[0]["DIRS"]]}]


@pytest.mark.django_db(transaction=True)
def test_email_goes_after_commit_with_html_and_text(test_templates):
    with transaction.atomic():
        send_templated_email(to="ada@example.com", template="welcome_test", context={"name": "Ada"})
        assert mail.outbox == []
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ada@example.com"]
    assert message.subject == f"Welcome to {settings.SITE_NAME}, Ada"
    assert "Hello Ada" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and "<strong>Ada</strong>" in html and settings.SITE_NAME in html


@pytest.mark.django_db(transaction=True)
def test_email_is_not_sent_when_the_transaction_rolls_back(test_templates):
    with pytest.raises(RuntimeError), transaction.atomic():
        send_templated_email(to="ada@example.com", template="welcome_test", context={"name": "Ada"})
        raise RuntimeError("rolled back")
    assert mail.outbox == []


@pytest.mark.django_db(transaction=True)
def test_in_process_a_refused_email_is_logged_and_the_committed_work_stands(test_templates, monkeypatch, caplog):
    from integration import mail as mail_module

    def refuse(self, *args, **kwargs):
        raise ConnectionRefusedError("the mail server is down")

    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", refuse)
    delayed = []
    monkeypatch.setattr(mail_module.send_email_task, "delay", lambda **payload: delayed.append(payload))
    with transaction.atomic():
        send_templated_email(to="ada@example.com", template="welcome_test", context={"name": "Ada"})
    assert delayed == []  # tasks in process: sent here, not through Celery's eager apply
    assert "email not sent" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_with_a_worker_the_email_is_a_task(monkeypatch):
    from integration import mail as mail_module

    delayed = []
    monkeypatch.setitem(mail_module.send_email_task.app.conf, "task_always_eager", False)
    monkeypatch.setattr(mail_module.send_email_task, "delay", lambda **payload: delayed.append(payload))
    send_templated_email(to="ada@example.com", template="welcome_test", context={"name": "Ada"})
    assert delayed == [{"to": ["ada@example.com"], "template": "welcome_test", "context": {"name": "Ada"}}]


def test_progress_prints_counts_when_not_a_terminal():
    out = io.StringIO()
    assert list(progress(range(25), desc="rows", stdout=out, every=10)) == list(range(25))
    lines = out.getvalue().splitlines()
    assert lines[:2] == ["rows: 10/25", "rows: 20/25"]
    assert lines[-1].startswith("rows: 25/25 done in ")


def test_progress_draws_a_bar_on_a_terminal():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    out = Terminal()
    assert sum(progress(range(5), desc="bar", stdout=out)) == 10
    assert "bar" in out.getvalue() and "5/5" in out.getvalue()


def test_in_process_scheduler_runs_each_beat_task(monkeypatch):
    from integration.management.commands import serve

    ran = []
    stop = threading.Event()

    class FakeTask:
        def __init__(self, name):
            self.name = name

        def apply(self):
            ran.append(self.name)
            if len(ran) >= 2:
                stop.set()

    monkeypatch.setattr(serve, "beat_schedule_tasks",
                        lambda: {"a": (FakeTask("t.a"), 0.01), "b": (FakeTask("t.b"), 0.01)})
    serve.run_schedule_forever(stop=stop, tick_seconds=0.02)
    assert set(ran) == {"t.a", "t.b"}


@pytest.mark.django_db
def test_every_beat_task_resolves_and_runs_in_a_web_process():
    """The embedded default runs the beat schedule in `serve`; each task must be registered there."""
    from integration.management.commands.serve import beat_schedule_tasks

    schedule = beat_schedule_tasks()
    assert set(schedule) == set(settings.CELERY_BEAT_SCHEDULE)
    for task, interval in schedule.values():
        assert interval > 0
        assert task.apply().successful()


def test_no_model_relation_crosses_an_app():
    """import-linter cannot see ForeignKeys or string model references; this can."""
    crossing = []
    for model in apps.get_models():
        label = model._meta.app_label
        if label not in DOMAIN_APPS:
            continue
        for field in model._meta.get_fields():
            related = getattr(field, "related_model", None)
            target = related._meta.app_label if related is not None else None
            if field.concrete and target in {*DOMAIN_APPS, "integration"} and target != label:
                crossing.append(f"{label}.{model.__name__}.{field.name} -> {related._meta.label}")
    assert crossing == []


def test_no_app_looks_up_another_apps_models_by_name():
    offenders = []
    for app in DOMAIN_APPS:
        for path in (ROOT / app).rglob("*.py"):
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "get_model":
                    # A data migration reads historical models of its own app or of a library (allauth's MFA,
                    # say), never another domain app's.
                    label = node.args[0].value if node.args and isinstance(node.args[0], ast.Constant) else None
                    if "migrations" not in path.parts or label is None or (label != app and label in DOMAIN_APPS):
                        offenders.append(str(path.relative_to(ROOT)))
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    for other in DOMAIN_APPS:
                        if other != app and node.value.startswith(f"{other}.") and node.value[len(other) + 1:][:1].isupper():
                            offenders.append(f"{path.relative_to(ROOT)}: {node.value}")
    assert offenders == []


@pytest.mark.django_db
def test_seed_demo_runs_each_apps_seeder_and_is_idempotent():
    from django.core.management import call_command

    first, second = io.StringIO(), io.StringIO()
    call_command("seed_demo", stdout=first)
    call_command("seed_demo", stdout=second)
    assert "admin@example.com / demo-pass-123" in first.getvalue()
    assert "Demo data ready" in second.getvalue() and "created" not in second.getvalue()
    assert apps.get_model("identity", "User").objects.filter(email__endswith="@example.com").count() == 5


TOPIC_TAKING_CALLS = {"register_handler", "register_reply_handler", "outbox_send", "contract_of", "message_of",
                      "validate_message"}


def test_no_topic_name_is_written_outside_the_topic_enum():
    """Topics are ``integration.topics.Topic`` members: a sender or receiver never spells the string."""
    from integration.topics import Topic

    names = {str(topic) for topic in Topic}
    offenders = []
    for path in [*ROOT.glob("integration/**/*.py"), *(p for app in DOMAIN_APPS for p in ROOT.glob(f"{app}/**/*.py"))]:
        if "migrations" in path.parts or path.name == "topics.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            func = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            candidates = [kw.value for kw in node.keywords if kw.arg == "topic"]
            if func in TOPIC_TAKING_CALLS and node.args:
                candidates.append(node.args[0])
            offenders += [f"{path.relative_to(ROOT)}:{node.lineno}" for value in candidates
                          if isinstance(value, ast.Constant) and value.value in names]
    assert offenders == []


def test_every_topic_has_a_route_a_contract_and_a_message_type():
    from integration.contracts import TOPIC_CONTRACTS
    from integration.routes import TOPICS
    from integration.topics import Topic

    assert set(TOPIC_CONTRACTS) == set(TOPICS) == set(Topic)
    assert all(contract.message is not None and contract.answer is not None for contract in TOPIC_CONTRACTS.values())

"""Long management commands draw a progress bar on a terminal (on stderr) and nothing extra elsewhere: off a
terminal (CI, logs, ``call_command``) their own lines alone are the output."""

import io

import pytest
from django.core.management import call_command

from integration.progress import progress

pytestmark = pytest.mark.django_db


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_quiet_progress_writes_nothing_off_a_terminal_and_a_bar_on_one():
    out = io.StringIO()
    assert list(progress(range(30), desc="rows", stdout=out, quiet=True)) == list(range(30))
    assert out.getvalue() == ""
    terminal = Terminal()
    assert list(progress(iter(range(3)), total=3, desc="Seeding", stdout=terminal, quiet=True, unit="app")) == [0, 1, 2]
    assert "Seeding" in terminal.getvalue() and "3/3" in terminal.getvalue() and "app" in terminal.getvalue()


def test_seed_demo_counts_the_apps_on_a_terminal_only():
    out, err = io.StringIO(), io.StringIO()
    call_command("seed_demo", stdout=out, stderr=err)
    assert err.getvalue() == "" and "Seeding:" not in out.getvalue()
    assert "Demo data ready" in out.getvalue()
    out, terminal = io.StringIO(), Terminal()
    call_command("seed_demo", stdout=out, stderr=terminal)  # again: idempotent
    seeded = out.getvalue().count("Seeding ")
    assert seeded >= 2 and f"{seeded}/{seeded}" in terminal.getvalue()
    assert "Seeding" not in out.getvalue().split("Demo data ready")[1]


def test_import_enrollments_counts_the_rows_on_a_terminal(tmp_path):
    from tests.learning.factories import CourseFactory, LmsUserFactory

    course = CourseFactory()
    people = [LmsUserFactory() for _ in range(3)]
    path = tmp_path / "enrol.csv"
    path.write_text("email,courseId\n" + "".join(f"{p.email},{course.pk}\n" for p in people), encoding="utf-8")
    out, terminal = io.StringIO(), Terminal()
    call_command("import_enrollments", str(path), "--dry-run", stdout=out, stderr=terminal)
    assert "Importing" in terminal.getvalue() and "3/3" in terminal.getvalue()
    assert out.getvalue().count("row ") == 3 and "Importing" not in out.getvalue()
    out, err = io.StringIO(), io.StringIO()
    call_command("import_enrollments", str(path), stdout=out, stderr=err)
    assert err.getvalue() == "" and "3 enrolled" in out.getvalue()


def test_payouts_run_says_what_it_did_and_draws_its_bar_on_a_terminal():
    out, terminal = io.StringIO(), Terminal()
    call_command("payouts_run", stdout=out, stderr=terminal)
    assert "Paying" in terminal.getvalue()
    assert out.getvalue().startswith("Payout run done: 0 paid, 0 failed, 0 awaiting confirmation, 0 blocked")
    out, err = io.StringIO(), io.StringIO()
    call_command("payouts_run", stdout=out, stderr=err)
    assert err.getvalue() == ""


def test_reconcile_counts_the_jobs_on_a_terminal():
    out, terminal = io.StringIO(), Terminal()
    call_command("reconcile", "ledger", stdout=out, stderr=terminal)
    assert "Reconciling" in terminal.getvalue() and "1/1" in terminal.getvalue()
    assert "no differences left" in out.getvalue()
    out, err = io.StringIO(), io.StringIO()
    call_command("reconcile", "ledger", stdout=out, stderr=err)
    assert err.getvalue() == ""

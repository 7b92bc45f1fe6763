"""The payee's pages: dashboard, ledger, payouts, statements and settings. Each shows only the signed-in payee's account."""

import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from integration.errors import ApplicationError
from payouts import selectors
from payouts.filters import LedgerFilter, PayoutPageFilter
from payouts.forms import PayoutAccountForm, PayoutScheduleForm, TaxInfoForm
from payouts.models import Payout, PayoutAccount, PayoutSchedule
from payouts.services.payouts import DEFAULT_SCHEDULE, next_payout_date, payout_block, schedule_of
from payouts.services.settings import payout_account_set, payout_schedule_set, tax_info_set
from payouts.statements import statement_csv, statement_pdf, statement_period

PAGE_SIZE = 25


def _me(request) -> str:
    return str(request.user.pk)


def _currency(request, payee: str) -> str:
    wanted = (request.GET.get("currency") or "").upper()
    if wanted:
        return wanted
    return selectors.balance_get(payee_user_id=payee).currency


@login_required
def dashboard(request):
    payee = _me(request)
    currency = _currency(request, payee)
    balance = selectors.balance_get(payee_user_id=payee, currency=currency)
    schedule = schedule_of(payee_user_id=payee)
    today = timezone.now().date()
    recent_entries = list(selectors.ledger_entries(payee_user_id=payee)[:10])
    held = list(selectors.held_shares(payee_user_id=payee)[:20])
    context = {
        "balance": balance,
        "currencies": [b.currency for b in selectors.balance_list(payee_user_id=payee)],
        "pending": selectors.pending_schedule(payee_user_id=payee, currency=currency),
        "held": held,
        "schedule": schedule,
        "schedule_is_default": schedule is DEFAULT_SCHEDULE,
        "next_payout": next_payout_date(schedule=schedule, today=today),
        "payout_blocked": payout_block(payee_user_id=payee),
        "chart": json.dumps(selectors.earnings_by_month(payee_user_id=payee, currency=currency, today=today)),
        "products": selectors.earnings_by_product(payee_user_id=payee, currency=currency),
        "recent_payouts": selectors.payouts_of(payee_user_id=payee)[:5],
        "recent_entries": recent_entries,
        "names": selectors.product_names(product_ids=[entry.product_id for entry in recent_entries]
                                         + [lot.product_id for lot in held]),
        "months": _statement_months(payee),
        "active": "dashboard",
        "clearing_days": settings.PAYOUT_CLEARING_DAYS,
    }
    return render(request, "payouts/dashboard.html", context)


@login_required
def ledger(request):
    payee = _me(request)
    filtered = LedgerFilter(request.GET, queryset=selectors.ledger_entries(payee_user_id=payee))
    entries = filtered.qs if filtered.is_valid() else selectors.ledger_entries(payee_user_id=payee).none()
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    names = selectors.product_names(product_ids=[entry.product_id for entry in page])
    return render(request, "payouts/ledger.html", {"filter": filtered, "page": page, "query": query.urlencode(),
                                                    "names": names, "filtered": bool(query), "active": "ledger"})


@login_required
def payout_history(request):
    payee = _me(request)
    filtered = PayoutPageFilter(request.GET, queryset=selectors.payouts_of(payee_user_id=payee))
    payouts = filtered.qs if filtered.is_valid() else Payout.objects.none()
    page = Paginator(payouts, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    in_flight = any(p.status == Payout.Status.PROCESSING for p in page)
    template = "payouts/_payout_rows.html" if request.htmx else "payouts/payouts.html"
    return render(request, template, {"filter": filtered, "page": page, "query": query.urlencode(),
                                      "filtered": bool(query), "in_flight": in_flight, "active": "history"})


def _statement_months(payee: str) -> list[str]:
    first = selectors.ledger_entries(payee_user_id=payee).order_by("id").values_list("created_at", flat=True).first()
    if first is None:
        return []
    months, cursor, today = [], first.date().replace(day=1), timezone.now().date()
    while cursor <= today:
        months.append(cursor.strftime("%Y-%m"))
        cursor = cursor.replace(year=cursor.year + (cursor.month == 12), month=cursor.month % 12 + 1)
    return list(reversed(months))


@login_required
def statements(request):
    return render(request, "payouts/statements.html", {"months": _statement_months(_me(request)),
                                                       "active": "statements"})


@login_required
def statement_download(request, period: str, fmt: str):
    if fmt not in {"csv", "pdf"}:
        raise Http404("Statements come as .csv or .pdf")
    try:
        year, month = statement_period(period)
    except ApplicationError as error:
        return HttpResponse(error.message, status=400, content_type="text/plain")
    if fmt == "csv":
        response = HttpResponse(statement_csv(payee_user_id=_me(request), year=year, month=month),
                                content_type="text/csv; charset=utf-8")
    else:
        response = HttpResponse(statement_pdf(payee_user_id=_me(request), payee_email=request.user.email,
                                              year=year, month=month), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="statement-{period}.{fmt}"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def payout_settings(request):
    payee = _me(request)
    current = selectors.payout_settings(payee_user_id=payee)
    account, tax, schedule = current["account"], current["tax_info"], current["schedule"]
    forms = {
        "account": PayoutAccountForm(prefix="account", initial={
            "method": account.method if account else PayoutAccount.Method.STRIPE_CONNECT,
            "stripe_account_id": account.stripe_account_id if account else ""}),
        "tax": TaxInfoForm(prefix="tax", initial={"legal_name": tax.legal_name, "country": tax.country,
                                                  "form": tax.form} if tax else {}),
        "schedule": PayoutScheduleForm(prefix="schedule", initial={
            "frequency": (schedule or DEFAULT_SCHEDULE).frequency, "day": (schedule or DEFAULT_SCHEDULE).day,
            "minimum_amount": (schedule or DEFAULT_SCHEDULE).minimum_amount}),
    }
    if request.method == "POST":
        which = request.POST.get("section")
        now = timezone.now()
        if which == "account":
            form = forms["account"] = PayoutAccountForm(request.POST, prefix="account")
            if form.is_valid():
                try:
                    payout_account_set(payee_user_id=payee, now=now, **form.cleaned_data)
                except ApplicationError as error:
                    for field, problems in error.details.items():
                        name = {"stripeAccountId": "stripe_account_id", "accountHolder": "account_holder",
                                "accountNumber": "account_number"}.get(field)
                        form.add_error(name if name in form.fields else None, " ".join(problems))
                else:
                    messages.success(request, "Payout account saved.")
                    return redirect("payouts-settings")
        elif which == "tax":
            form = forms["tax"] = TaxInfoForm(request.POST, prefix="tax")
            if form.is_valid():
                data = {k: v for k, v in form.cleaned_data.items() if k != "certify"}
                tax_info_set(payee_user_id=payee, now=now, **data)
                messages.success(request, "Tax information saved.")
                return redirect("payouts-settings")
        elif which == "schedule":
            form = forms["schedule"] = PayoutScheduleForm(request.POST, prefix="schedule")
            if form.is_valid():
                payout_schedule_set(payee_user_id=payee, now=now, **form.cleaned_data)
                messages.success(request, "Payout schedule saved.")
                return redirect("payouts-settings")
    return render(request, "payouts/settings.html", {
        **current, "forms": forms, "payout_blocked": payout_block(payee_user_id=payee),
        "weekly": PayoutSchedule.Frequency.WEEKLY, "active": "settings"})

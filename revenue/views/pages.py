"""LMS pages: the revenue configs one may edit, the editor of one course or program with its history,
and "My earnings" for instructors and content creators."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from integration.errors import ApplicationError
from integration.money import quantize
from revenue import remote
from revenue.api.authentication import LmsCaller, caller_of
from revenue.filters import ConfigListFilter, EarningsFilter, HistoryFilter
from revenue.forms import ProductOpenForm, RevenueConfigForm
from revenue.models import ProductType, RevenueConfig, ShareStatus
from revenue.selectors import (
    earnings_by_course,
    earnings_shares,
    enrollment_facts_for,
    revenue_config_history,
    revenue_config_in_force,
    revenue_config_latest,
    revenue_config_products,
)
from revenue.services.configs import ConfigChange, revenue_config_set
from revenue.services.lifecycle import hold_reason

LOGIN = "/lms/sso/"
PAGE_SIZE = 20


def _caller(request: HttpRequest) -> LmsCaller | None:
    return caller_of(getattr(request, "lms_user", None))


def _login_redirect(request: HttpRequest) -> HttpResponse:
    return redirect(f"{LOGIN}?next={request.path}")


def _render(request, template: str, context: dict, *, status: int = 200) -> HttpResponse:
    return render(request, template, {"lms_user": getattr(request, "lms_user", None), **context}, status=status)


def _may_edit(caller: LmsCaller, product_type: str, external_id: str) -> bool:
    return remote.revenue_access_check(lms_user_id=caller.lms_user_id,
                                       product_type=product_type, external_id=external_id)


def _page(request, items):
    return Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))


def _query_without_page(request) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


@require_http_methods(["GET", "POST"])
@never_cache
def config_list(request):
    """The revenue configs this person may edit, and a form to open any course or program by id."""
    caller = _caller(request)
    if caller is None:
        return _login_redirect(request)
    open_form = ProductOpenForm(request.POST or None)
    if request.method == "POST" and open_form.is_valid():
        return redirect("revenue-config-edit", product_type=open_form.cleaned_data["product_type"],
                        external_id=open_form.cleaned_data["external_id"].strip())
    filterset = ConfigListFilter(request.GET or None, queryset=revenue_config_products())
    rows = [config for config in filterset.qs if _may_edit(caller, config.product_type, config.external_id)] \
        if remote.revenue_access_anywhere(lms_user_id=caller.lms_user_id) else []
    return _render(request, "revenue/config_list.html", {
        "filter": filterset, "page": _page(request, rows), "open_form": open_form,
        "query": _query_without_page(request)})


@require_http_methods(["GET", "POST"])
@never_cache
def config_edit(request, product_type: str, external_id: str):
    """The split of one course or program: the version in force, a form for a new version, the history."""
    caller = _caller(request)
    if caller is None:
        return _login_redirect(request)
    if product_type not in ProductType.values:
        return _render(request, "revenue/forbidden.html", {"reason": "No such kind of product."}, status=404)
    if not _may_edit(caller, product_type, external_id):
        return _render(request, "revenue/forbidden.html", {
            "reason": "Only the content admins and department admins of this course may see or change its "
                      "revenue split."}, status=403)
    now = timezone.now()
    current = revenue_config_in_force(product_type=product_type, external_id=external_id, on=now.date())
    latest = revenue_config_latest(product_type=product_type, external_id=external_id)
    status = 200
    form = RevenueConfigForm(request.POST or None, initial=_initial(latest or current, today=now.date()))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            revenue_config_set(
                product_type=product_type, external_id=external_id, now=now,
                actor_lms_user_id=caller.lms_user_id, actor_email=caller.email,
                change=ConfigChange(
                    instructor_email=data["instructor_email"], instructor_split=data["instructor_split"],
                    creator_email=data["creator_email"], creator_split=data["creator_split"],
                    affiliate_email=data["affiliate_email"], affiliate_split=data["affiliate_split"] or 0,
                    platform_split=data["platform_split"], basis=data["basis"],
                    release_policy=data["release_policy"], effective_date=data["effective_date"]))
        except ApplicationError as exc:
            field = {"instructorEmail": "instructor_email", "creatorEmail": "creator_email",
                     "affiliateEmail": "affiliate_email"}.get(str(exc.details.get("field", "")))
            form.add_error(field, exc.message)
            status = exc.status_code
        else:
            messages.success(request, f"The new split is in force from {data['effective_date']:%d %b %Y}.")
            return redirect(reverse("revenue-config-edit", args=[product_type, external_id]))
    elif request.method == "POST":
        status = 422
    history = HistoryFilter(request.GET or None,
                            queryset=revenue_config_history(product_type=product_type, external_id=external_id))
    return _render(request, "revenue/config_edit.html", {
        "product_type": product_type, "external_id": external_id, "current": current, "latest": latest,
        "title": (latest.product_title if latest else "") or remote.course_title(product_type=product_type,
                                                                                  external_id=external_id),
        "form": form, "history_filter": history, "history": _page(request, history.qs),
        "query": _query_without_page(request)}, status=status)


def _initial(config: RevenueConfig | None, *, today) -> dict:
    if config is None:
        return {"effective_date": today, "basis": "net", "release_policy": "on_sale"}
    return {"instructor_email": config.instructor_email, "instructor_split": config.instructor_split,
            "creator_email": config.creator_email, "creator_split": config.creator_split,
            "affiliate_email": config.affiliate_email, "affiliate_split": config.affiliate_split,
            "platform_split": config.platform_split, "basis": config.basis,
            "release_policy": config.release_policy, "effective_date": max(today, config.effective_date)}


@require_GET
@never_cache
def my_earnings(request):
    """What an instructor or content creator earned per course, and which shares still wait (and for what)."""
    caller = _caller(request)
    if caller is None:
        return _login_redirect(request)
    if not caller.commerce_user_id:
        return _render(request, "revenue/earnings.html", {"no_account": True, "courses": [], "page": None})
    courses = earnings_by_course(payee_commerce_user_id=caller.commerce_user_id)
    names = {course.external_id: course.title or course.external_id for course in courses}
    filterset = EarningsFilter(request.GET or None, courses=sorted(names.items(), key=lambda item: item[1].lower()),
                               queryset=earnings_shares(payee_commerce_user_id=caller.commerce_user_id))
    page = _page(request, filterset.qs)
    facts = enrollment_facts_for(enrollment_ids=[share.sale.enrollment_id for share in page])
    rows = [{"share": share, "waiting_for": hold_reason(share, facts.get(share.sale.enrollment_id))}
            for share in page]
    return _render(request, "revenue/earnings.html", {
        "filter": filterset, "page": page, "rows": rows, "courses": courses, "held": ShareStatus.HELD,
        "charts": _earnings_charts(courses), "query": _query_without_page(request)})


def _earnings_charts(courses) -> list[dict]:
    """The per-course table as Chart.js data, one chart per currency (amounts in two currencies are never
    added or drawn on one axis): earned, refunded and net per course, as decimal strings to the minor unit."""
    by_currency: dict[str, list] = {}
    for course in courses:
        by_currency.setdefault(course.currency, []).append(course)
    charts = []
    for currency, rows in by_currency.items():
        def amounts(values, currency=currency):
            return [str(quantize(value, currency)) for value in values]

        charts.append({"id": f"earnings-chart-{currency.lower()}", "currency": currency, "indexAxis": "y",
                       "labels": [course.title or course.external_id for course in rows],
                       "series": [{"label": f"Earned ({currency})", "kind": "earned",
                                   "values": amounts(course.earned for course in rows)},
                                  {"label": f"Refunded ({currency})", "kind": "refunded",
                                   "values": amounts(course.refunded for course in rows)},
                                  {"label": f"Net ({currency})", "kind": "net",
                                   "values": amounts(course.net for course in rows)}]})
    return charts

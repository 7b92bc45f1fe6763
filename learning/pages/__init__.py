"""The LMS pages (server-rendered): the learner's, the instructor's and the department admin's.

``learning/views.py`` keeps the sign-in pages (SSO and the legacy login); these modules hold the rest,
each view a form and one service call.
"""

from functools import wraps
from urllib.parse import urlencode

from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render

PAGE_SIZE = 20


def lms_login_required(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.lms_user:
            target = request.get_full_path()
            return redirect("/lms/sso/" if target == "/lms/" else f"/lms/sso/?{urlencode({'next': target})}")
        return view(request, *args, **kwargs)

    return wrapper


def page_of(request, queryset, *, size: int = PAGE_SIZE):
    """A page of ``queryset`` and the query string without ``page`` (for the pager's links)."""
    page = Paginator(queryset, size).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return page, query.urlencode()


def render_lms(request, template: str, context: dict | None = None, *, status: int = 200):
    return render(request, template, {"lms_user": request.lms_user, **(context or {})}, status=status)


def posted_pk(model, value):
    """``value`` (an id a form posted) as ``model``'s primary key, else a 404: an id that is no id (a form
    tampered with) is a page not found, not a 500 from the lookup."""
    try:
        return model._meta.pk.to_python(value)
    except ValidationError:
        raise Http404(f"no such {model._meta.verbose_name}") from None

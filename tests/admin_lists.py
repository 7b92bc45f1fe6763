"""For the admin tests of every app: a changelist costs the same statements however many rows it shows."""

from collections.abc import Callable

from django.db import connection
from django.test.utils import CaptureQueriesContext


def list_statements(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200, url
    return len(captured)


def assert_lists_flat(client, urls: list[str], *, more: Callable[[], object], max_queries, most: int = 12) -> None:
    """Each of ``urls`` is measured, ``more()`` adds rows, then each must cost no more than before (a statement
    per row would show) and never more than ``most`` (session, user, permissions, the page, its filters).
    ``max_queries`` is pytest-django's ``django_assert_max_num_queries``."""
    few = {url: list_statements(client, url) for url in urls}
    more()
    for url in urls:
        with max_queries(few[url]):
            assert client.get(url).status_code == 200, url
        assert few[url] <= most, (url, few[url])

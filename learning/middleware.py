"""``request.lms_user``: the LMS user of the session, or an ``AnonymousLmsUser``, looked up lazily."""

from django.utils.functional import SimpleLazyObject

from learning.sessions import AnonymousLmsUser, current_lms_user


class LmsSessionMiddleware:
    """Needs ``SessionMiddleware`` before it. Lazy, so a request that never asks touches no table."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.lms_user = SimpleLazyObject(lambda: current_lms_user(request) or AnonymousLmsUser())
        return self.get_response(request)

"""The signed webhook receivers this deployment serves, at the spec's exact paths (no trailing slash)."""

import re

from django.urls import path

from integration import routes
from integration.transport import deployment_serves
from integration.webhooks import webhook_view


def _django_path(route_path: str) -> str:
    return re.sub(r"\{(\w+)\}", r"<str:\1>", route_path.lstrip("/"))


urlpatterns = [
    path(_django_path(route.path), webhook_view(topic), name=f"webhook-{topic.replace('.', '-')}")
    for topic, route in routes.TOPICS.items()
    if route.auth == routes.SIGNED and deployment_serves(route.receiver)
]

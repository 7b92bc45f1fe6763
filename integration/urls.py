"""The signed webhook receivers this deployment serves, at the spec's exact paths (no trailing slash)."""

from django.urls import path

from integration import routes
from integration.webhooks import webhook_view

urlpatterns = [
    path(routes.django_path(topic), webhook_view(topic), name=f"webhook-{topic.replace('.', '-')}")
    for topic, route in routes.TOPICS.items()
    if route.auth == routes.SIGNED and routes.serves(route.receiver)
]

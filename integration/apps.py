from django.apps import AppConfig


class IntegrationConfig(AppConfig):
    name = "integration"
    verbose_name = "Integration"

    def ready(self) -> None:
        from integration import metrics, schema  # noqa: F401 - the import registers the OpenAPI extension

        metrics.register_collectors()

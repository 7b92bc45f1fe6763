from django.apps import AppConfig


class IntegrationConfig(AppConfig):
    name = "integration"
    verbose_name = "Integration"

    def ready(self) -> None:
        from integration import metrics, registry, schema  # noqa: F401 - the import registers the OpenAPI extension
        from integration.reconcile import reconcile_enrollments_hook
        from integration.reconcile_sales import reconcile_sales_hook

        metrics.register_collectors()
        registry.register_provider("reconcile.enrollments", reconcile_enrollments_hook)
        registry.register_provider("reconcile.sales", reconcile_sales_hook)

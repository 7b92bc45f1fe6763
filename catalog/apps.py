from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Catalog"

    def ready(self) -> None:
        from catalog import providers, tasks  # noqa: F401  (tasks register with Celery on import)

        providers.register()

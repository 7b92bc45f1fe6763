from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Orders and payments"

    def ready(self) -> None:
        from orders import providers, signals, tasks  # noqa: F401  (signal receivers and tasks register on import)

        providers.register()

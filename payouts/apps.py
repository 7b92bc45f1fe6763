from django.apps import AppConfig


class PayoutsConfig(AppConfig):
    name = "payouts"
    verbose_name = "Revenue ledger and payouts"

    def ready(self):
        from payouts import providers

        providers.register()

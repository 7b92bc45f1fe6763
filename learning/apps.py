from django.apps import AppConfig


class LearningConfig(AppConfig):
    name = "learning"
    verbose_name = "Learning (LMS)"

    def ready(self):
        from integration import registry
        from learning import handlers, providers

        registry.register_provider("lms.sso_user", providers.sso_user)
        registry.register_provider("lms.legacy_report", providers.legacy_report)
        registry.register_handler("identity.user_erased", handlers.user_erased)

from django.apps import AppConfig


class LearningConfig(AppConfig):
    name = "learning"
    verbose_name = "Learning (LMS)"

    def ready(self):
        from integration import registry
        from integration.ports import implement
        from integration.ports.learning import LearningPort
        from integration.topics import Topic
        from learning import handlers, providers, seed

        implement(LearningPort, providers.LocalLearning())
        registry.register_handler(Topic.USER_ERASED, handlers.user_erased)
        registry.register_handler(Topic.ENTITLEMENT, handlers.entitlement)
        registry.register_provider("seed.learning", seed.seed_learning)

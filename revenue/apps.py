from django.apps import AppConfig


class RevenueConfig(AppConfig):
    name = "revenue"
    verbose_name = "Revenue splits (LMS)"

    def ready(self):
        from integration import registry
        from integration.topics import Topic
        from revenue import handlers
        from revenue.seed import seed_revenue

        registry.register_provider("seed.revenue", seed_revenue)
        lifecycle = getattr(Topic, "ENROLLMENT_LIFECYCLE", None)
        if lifecycle is not None:
            registry.register_handler(lifecycle, handlers.enrollment_lifecycle)
        # Learning answers the erasure; revenue erases its own copy of the person in the same transaction.
        registry.register_extra_handler(Topic.USER_ERASED, handlers.user_erased)
        # A billing-admin membership granted or removed on the LMS (spec 4.3's commerce-admin mapping).
        registry.register_handler(Topic.STAFF_ROLE_CHANGED, handlers.staff_role_changed)

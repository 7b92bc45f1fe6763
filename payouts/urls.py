from django.urls import path

from integration.routes import django_path
from payouts.api import views as api
from payouts.views import pages

urlpatterns = [
    path("api/v1/payouts/balance/", api.BalanceApi.as_view(), name="payouts-api-balance"),
    path("api/v1/payouts/ledger/", api.LedgerApi.as_view(), name="payouts-api-ledger"),
    path("api/v1/payouts/", api.PayoutListApi.as_view(), name="payouts-api-payouts"),
    path("api/v1/payouts/statements/<str:period>.csv", api.StatementCsvApi.as_view(), name="payouts-api-statement"),
    path(django_path("payouts.personal_data"), api.PersonalDataApi.as_view(), name="payouts-api-personal-data"),
    path(django_path("payouts.ledger_sales"), api.LedgerSalesApi.as_view(), name="payouts-api-ledger-sales"),
    path("payouts/", pages.dashboard, name="payouts-dashboard"),
    path("payouts/ledger/", pages.ledger, name="payouts-ledger"),
    path("payouts/history/", pages.payout_history, name="payouts-history"),
    path("payouts/statements/", pages.statements, name="payouts-statements"),
    path("payouts/statements/<str:period>.<str:fmt>", pages.statement_download, name="payouts-statement"),
    path("payouts/settings/", pages.payout_settings, name="payouts-settings"),
]

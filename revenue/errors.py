"""The errors revenue raises; each code once, project-wide."""

from integration.errors import ConflictError, ForbiddenError, NotFoundError, UnprocessableError


class SharesDoNotSumToOne(UnprocessableError):
    code = "revenue_shares_not_one"
    default_message = "The instructor, creator, affiliate and platform shares must sum to exactly 1."


class ShareOutOfRange(UnprocessableError):
    code = "revenue_share_out_of_range"
    default_message = "Each share is between 0 and 1, with at most 4 decimal places."


class PayeeNotFound(UnprocessableError):
    code = "revenue_payee_not_found"
    default_message = "No store account has this email address, so it cannot receive a revenue share."


class PayeeMissing(UnprocessableError):
    code = "revenue_payee_missing"
    default_message = "A share above 0 needs the email address of the person who receives it."


class PlatformPayeeMissing(ConflictError):
    code = "revenue_platform_payee_missing"
    default_message = "The platform's payee account does not exist yet (run seed_demo or create it in identity)."


class EffectiveDateBeforeRecordedSales(ConflictError):
    code = "revenue_effective_date_in_recorded_past"
    default_message = ("Sales after this date have already been split with the config then in force; "
                       "choose an effective date after the last recorded sale.")


class RevenueConfigNotFound(NotFoundError):
    code = "revenue_config_not_found"
    default_message = "This course or program has no revenue config."


class RevenueConfigForbidden(ForbiddenError):
    code = "revenue_config_forbidden"
    default_message = "Only the content admins and department admins of this course may change its revenue split."


class NoConfigAtSaleDate(ConflictError):
    """Retryable: a config added later for that date lets the outbox's next attempt split the sale."""

    code = "revenue_no_config_at_sale_date"
    default_message = "No revenue config was in force for this product on the sale date."


class CurrencyMismatch(UnprocessableError):
    code = "revenue_currency_mismatch"
    default_message = "The refund's currency differs from the sale's."


class ConfigChangedConcurrently(ConflictError):
    code = "revenue_config_changed_concurrently"
    default_message = "Someone else changed this split at the same moment; reload it and try again."

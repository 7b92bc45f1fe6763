"""Celery entry points of the integration app: each makes one service call and is safe to run twice."""

from celery import shared_task

from integration import inbox, outbox


@shared_task(name="integration.tasks.outbox_deliver", ignore_result=True)
def outbox_deliver(*, message_id: str) -> None:
    """Enqueued after the sender's commit; the row's lease makes a duplicate run a no-op."""
    outbox.outbox_deliver(message_id=message_id)


@shared_task(name="integration.tasks.outbox_sweep", ignore_result=True)
def outbox_sweep() -> int:
    return outbox.outbox_sweep()


@shared_task(name="integration.tasks.inbox_purge", ignore_result=True)
def inbox_purge() -> int:
    return inbox.inbox_purge()


@shared_task(name="integration.tasks.outbox_purge", ignore_result=True)
def outbox_purge() -> int:
    """Deletes delivered messages past OUTBOX_RETENTION_DAYS; pending ones and dead letters stay."""
    return outbox.outbox_purge()

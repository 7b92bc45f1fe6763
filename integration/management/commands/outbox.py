"""``manage.py outbox [--dead] [--replay ID | --replay-all-dead | --dismiss ID | --purge]``: see and tend the outbox."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from integration import outbox, selectors
from integration.errors import ApplicationError
from integration.models import OutboxMessage
from integration.progress import progress


class Command(BaseCommand):
    help = "Lists pending (default) or dead-lettered (--dead) outbox messages, or replays dead letters."

    def add_arguments(self, parser):
        action = parser.add_mutually_exclusive_group()
        action.add_argument("--dead", action="store_true", help="list the dead letters instead of pending messages")
        action.add_argument("--replay", metavar="ID", help="replay one dead letter (sequence number or message id)")
        action.add_argument("--replay-all-dead", action="store_true", help="replay every dead letter")
        action.add_argument("--dismiss", metavar="ID", help="dismiss one dead letter without replaying it")
        action.add_argument("--purge", action="store_true",
                            help="delete delivered and dismissed messages older than OUTBOX_RETENTION_DAYS now")
        parser.add_argument("--limit", type=int, default=50, help="how many messages to list (default 50)")

    def handle(self, *args, **options):
        if options["replay"]:
            self._replay_one(options["replay"])
        elif options["replay_all_dead"]:
            self._replay_all()
        elif options["dismiss"]:
            self._dismiss(options["dismiss"])
        elif options["purge"]:
            purged = outbox.outbox_purge()
            self.stdout.write(f"Purged {purged} delivered or dismissed message(s) older than "
                              f"{settings.OUTBOX_RETENTION_DAYS} days.")
        else:
            status = OutboxMessage.Status.DEAD if options["dead"] else OutboxMessage.Status.PENDING
            self._list(status, limit=options["limit"])
        counts = selectors.outbox_counts()
        self.stdout.write(f"Outbox: {counts['pending']} pending, {counts['dead']} dead, "
                          f"{counts['delivered']} delivered, {counts['dismissed']} dismissed.")

    def _list(self, status: str, *, limit: int) -> None:
        messages = list(selectors.outbox_message_list(status=status)[:max(limit, 0)])
        if not messages:
            self.stdout.write(f"No {status} messages.")
            return
        self.stdout.write(f"{'ID':>8}  {'TOPIC':<22} {'AGGREGATE':<28} {'TRIES':>5}  "
                          f"{'NEXT ATTEMPT' if status == 'pending' else 'CREATED':<20}  LAST ERROR")
        for message in messages:
            when = message.next_attempt_at if status == OutboxMessage.Status.PENDING else message.created_at
            self.stdout.write(f"{message.id:>8}  {message.topic:<22} {message.aggregate_key[:28]:<28} "
                              f"{message.attempts:>5}  {when:%Y-%m-%d %H:%M:%S}  "
                              f"{message.last_error.splitlines()[0][:80] if message.last_error else '-'}")

    def _replay_one(self, ref: str) -> None:
        try:
            message = selectors.outbox_message_get(ref=ref)
            message = outbox.outbox_replay(message_id=message.message_id)
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(self.style.SUCCESS(f"Replayed message {message.id} ({message.topic}); "
                                             f"now {message.status}."))

    def _dismiss(self, ref: str) -> None:
        try:
            message = selectors.outbox_message_get(ref=ref)
            message = outbox.outbox_dismiss(message_id=message.message_id)
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(self.style.SUCCESS(f"Dismissed message {message.id} ({message.topic})."))

    def _replay_all(self) -> None:
        message_ids = selectors.outbox_dead_letter_ids()
        if not message_ids:
            self.stdout.write("No dead letters to replay.")
            return
        replayed = outbox.outbox_replay_many(
            message_ids=progress(message_ids, desc="replaying dead letters", stdout=self.stdout))
        self.stdout.write(self.style.SUCCESS(f"Replayed {replayed} dead letter(s)."))

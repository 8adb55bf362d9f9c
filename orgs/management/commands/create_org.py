from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from orgs.services import org_create


class Command(BaseCommand):
    help = "Create an organization (a tenant)."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--slug", required=True)
        parser.add_argument("--concurrency-limit", type=int, default=10)
        parser.add_argument("--region", default="US", help="default region for parsing numbers")
        parser.add_argument("--timezone", default="America/New_York")

    def handle(self, *args, **opts):
        try:
            org = org_create(
                name=opts["name"],
                slug=opts["slug"],
                concurrency_limit=opts["concurrency_limit"],
                default_region=opts["region"],
                default_timezone=opts["timezone"],
            )
        except ValidationError as exc:
            raise CommandError(
                "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
            ) from None
        self.stdout.write(f"Created organization {org.slug} (id {org.pk}).")

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from orgs.models import Organization
from orgs.services import api_key_create, parse_scopes


class Command(BaseCommand):
    help = "Create an API key for an organization; prints the key alone on the last line."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organization slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--scopes", required=True, help="comma-separated scopes, or 'all'")

    def handle(self, *args, **opts):
        org = Organization.objects.filter(slug=opts["org"]).first()
        if org is None:
            raise CommandError(f"No organization with slug {opts['org']!r}.")
        try:
            scopes = parse_scopes(opts["scopes"])
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        key, raw = api_key_create(org=org, name=opts["name"], scopes=scopes)
        self.stdout.write(f"API key {key.name!r} for {org.slug} with scopes: {', '.join(scopes)}.")
        self.stdout.write("Store it now: it is not shown again.")
        self.stdout.write(raw)

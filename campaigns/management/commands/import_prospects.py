import json
import os

from django.core.management.base import BaseCommand, CommandError
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from campaigns.models import Campaign
from prospects.importing import ImportFileError, prospects_import


class Command(BaseCommand):
    help = "Import prospects from a CSV file into a campaign, with a progress bar."

    def add_arguments(self, parser):
        parser.add_argument("--campaign", type=int, required=True, help="campaign id")
        parser.add_argument("file")

    def handle(self, *args, **opts):
        campaign = (
            Campaign.objects.select_related("organization").filter(pk=opts["campaign"]).first()
        )
        if campaign is None:
            raise CommandError(f"No campaign with id {opts['campaign']}.")
        path = opts["file"]
        if not os.path.isfile(path):
            raise CommandError(f"No such file: {path}")
        size = os.path.getsize(path)
        with (
            Progress(
                TextColumn("[bold]Importing"),
                BarColumn(),
                DownloadColumn(),
                TimeRemainingColumn(),
                console=None,
                transient=False,
            ) as progress,
            open(path, "rb") as fh,
        ):
            task = progress.add_task("import", total=size)
            try:
                result = prospects_import(
                    campaign=campaign,
                    fileobj=fh,
                    progress=lambda done: progress.update(task, completed=done),
                )
            except ImportFileError as exc:
                raise CommandError(str(exc)) from None
        self.stdout.write(json.dumps(result, indent=2))

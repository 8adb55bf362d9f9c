"""Writes for campaigns and the prospects they work through."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from prospects.models import Prospect


def prospects_release_stale_claims(*, older_than_seconds: int | None = None) -> int:
    """Put prospects claimed too long ago (a worker died mid-claim) back in the queue.

    One conditional UPDATE: a prospect whose claim was refreshed in the meantime is untouched.
    """
    seconds = (
        settings.PROSPECT_LOCK_TIMEOUT_SECONDS if older_than_seconds is None else older_than_seconds
    )
    cutoff = timezone.now() - timedelta(seconds=seconds)
    return Prospect.objects.filter(status=Prospect.Status.DIALING, locked_at__lt=cutoff).update(
        status=Prospect.Status.QUEUED, locked_by="", locked_at=None, next_attempt_at=timezone.now()
    )

"""Running a transaction again when PostgreSQL aborted it to break a deadlock."""

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from django.db import OperationalError
from psycopg import errors

log = logging.getLogger(__name__)

T = TypeVar("T")


def is_deadlock(error: BaseException) -> bool:
    """Whether `error` is PostgreSQL's abort of a deadlock's victim (or of a transaction that
    could not be serialized): nothing is wrong with the transaction; its turn came too early."""
    return isinstance(error.__cause__, errors.DeadlockDetected | errors.SerializationFailure)


def deadlock_retried(run: Callable[[], T], *, tries: int = 4) -> T:
    """`run()`, a whole transaction, run again (up to `tries` times in all) when PostgreSQL
    aborts it to break a deadlock. By the next try the other side holds its locks, so the
    try waits for them instead of crossing them. Not for use inside an outer transaction,
    which the abort has spoiled."""
    for attempt in range(1, tries + 1):
        try:
            return run()
        except OperationalError as error:
            if attempt == tries or not is_deadlock(error):
                raise
            log.warning("deadlock, try %d of %d again: %s", attempt, tries, error)
            time.sleep(random.uniform(0.01, 0.05) * attempt)
    raise AssertionError("unreachable")

from datetime import datetime

from django.db.models import Q
from rest_framework.exceptions import NotFound
from rest_framework.pagination import Cursor, CursorPagination, PageNumberPagination


class DefaultPagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 1000


class CreatedCursorPagination(CursorPagination):
    """For append-only lists: stable under inserts, cheap at any depth.

    The cursor holds the whole ordering key of the page's edge row, its time and its id
    (keyset pagination): rows written in one statement share a timestamp (a blast's texts),
    and a position on the time alone plus an offset (DRF's, capped at 1,000) would repeat a
    page and never reach the rest.
    """

    ordering = ("-created_at", "-id")
    page_size_query_param = "page_size"
    max_page_size = 1000

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.page_size = self.get_page_size(request)
        self.base_url = request.build_absolute_uri()
        self.cursor = self.decode_cursor(request)
        time = self._time_field
        reverse = bool(self.cursor and self.cursor.reverse)
        key = self._key(self.cursor.position) if self.cursor else None
        # Reverse: the page before the cursor's row, walked up, then shown newest first.
        past, order = ("gt", (time, "id")) if reverse else ("lt", (f"-{time}", "-id"))
        queryset = queryset.order_by(*order)
        if key:
            at, pk = key
            queryset = queryset.filter(
                Q(**{f"{time}__{past}": at}) | Q(**{time: at, f"id__{past}": pk})
            )
        rows = list(queryset[: self.page_size + 1])
        more = len(rows) > self.page_size
        self.page = rows[: self.page_size]
        if reverse:
            self.page.reverse()
        self.has_next, self.has_previous = (
            (key is not None, more) if reverse else (more, key is not None)
        )
        return self.page

    def get_next_link(self):
        if not (self.has_next and self.page):
            return None
        return self.encode_cursor(Cursor(0, False, self._position(self.page[-1])))

    def get_previous_link(self):
        if not (self.has_previous and self.page):
            return None
        return self.encode_cursor(Cursor(0, True, self._position(self.page[0])))

    @property
    def _time_field(self) -> str:
        return self.ordering[0].lstrip("-")

    def _position(self, row) -> str:
        return f"{getattr(row, self._time_field).isoformat()}|{row.pk}"

    def _key(self, position: str | None) -> tuple[datetime, int]:
        try:
            time, pk = (position or "").split("|")
            return datetime.fromisoformat(time), int(pk)
        except ValueError:
            raise NotFound(self.invalid_cursor_message) from None


class UpdatedCursorPagination(CreatedCursorPagination):
    """For lists a row enters when it changes (dead letters): the latest change first."""

    ordering = ("-updated_at", "-id")

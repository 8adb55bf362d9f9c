from rest_framework.pagination import CursorPagination, PageNumberPagination


class DefaultPagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 1000


class CreatedCursorPagination(CursorPagination):
    """For append-only lists: stable under inserts, cheap at any depth."""

    ordering = ("-created_at", "-id")
    page_size_query_param = "page_size"
    max_page_size = 1000


class UpdatedCursorPagination(CreatedCursorPagination):
    """For lists a row enters when it changes (dead letters): the latest change first."""

    ordering = ("-updated_at", "-id")

from django.apps import AppConfig


class DidsConfig(AppConfig):
    name = "dids"

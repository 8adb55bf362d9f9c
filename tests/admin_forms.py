"""Posting an admin change form as a browser would: every field as the page shows it."""

from django import forms
from django.contrib.admin.widgets import RelatedFieldWidgetWrapper


def _widget(field: forms.Field) -> forms.Widget:
    widget = field.widget
    return widget.widget if isinstance(widget, RelatedFieldWidgetWrapper) else widget


def _put(data: dict, key: str, field: forms.Field, value) -> None:
    widget = _widget(field)
    if isinstance(widget, forms.MultiWidget):
        parts = widget.decompress(value) if not isinstance(value, list) else value
        for i, part in enumerate(parts):
            data[f"{key}_{i}"] = "" if part is None else part
    elif isinstance(widget, forms.CheckboxInput):
        if value:
            data[key] = "on"
    elif value is not None:
        data[key] = value


def admin_form_data(response) -> dict:
    """The POST data of the change (or add) form `response` shows, inlines included."""
    data: dict = {}
    page_forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = management[name].value()
        page_forms += formset.forms
    for form in page_forms:
        for name, field in form.fields.items():
            _put(data, form.add_prefix(name), field, form[name].value())
    return data

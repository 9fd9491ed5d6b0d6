from django import forms
from django.core.exceptions import ValidationError


def add_action_errors(
    form: forms.Form, exc: ValidationError, field_map: dict[str, str] | None = None
) -> None:
    """Show an action's refusal on the form: next to the field at fault, or above the form."""
    field_map = field_map or {}
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for field, errors in exc.error_dict.items():
        name = field_map.get(field, field)
        form.add_error(name if name in form.fields else None, errors)

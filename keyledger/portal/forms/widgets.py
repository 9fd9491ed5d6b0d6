"""Widgets of the portal's own."""

from __future__ import annotations

from typing import Any

from django import forms
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join


class LongSelect(forms.Select):
    """A drop-down written in one pass, for lists of a hundred choices and more (a
    distributor's MSPs): Django's own renders a template per option, which costs a Reports
    page about as much as a query. The same markup, without option groups."""

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None) -> str:
        context = self.get_context(name, value, attrs)["widget"]
        chosen = {str(v) for v in context["value"]}
        options = format_html_join(
            "\n",
            '<option value="{}"{}>{}</option>',
            (
                (str(choice), " selected" if str(choice) in chosen else "", label)
                for choice, label in self.choices
            ),
        )
        return format_html('<select name="{}"{}>\n{}\n</select>', name, flatatt(context["attrs"]), options)

"""The profile's choice of time zone."""

from django import forms

from keyledger.organisations.time_zones import time_zone_names


def _choices() -> list[tuple[str, str]]:
    return [("", "UTC (none chosen)")] + [(name, name.replace("_", " ")) for name in time_zone_names()]


class TimeZoneForm(forms.Form):
    time_zone = forms.ChoiceField(
        label="Time zone",
        required=False,
        choices=_choices,
        help_text="Times in the portal are shown in this zone; pointing at one shows it in UTC. "
        "CSV files and the API always use UTC.",
    )

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

from django import forms

from keyledger.portal.forms.organisations import OnboardingForm


class AuditFilterForm(OnboardingForm):
    action = forms.ChoiceField(label="Action", required=False)

    def __init__(self, *args, actions: list[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [("", "All actions"), *((a, a) for a in actions)]

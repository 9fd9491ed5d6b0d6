from django import forms

from keyledger.organisations.roles import Role
from keyledger.portal.forms.organisations import EMAIL_MAX_LENGTH, OnboardingForm


class InviteUserForm(OnboardingForm):
    email = forms.EmailField(label="Email", max_length=EMAIL_MAX_LENGTH)
    full_name = forms.CharField(label="Name", max_length=200)
    role = forms.ChoiceField(label="Role", choices=Role.choices, initial=Role.MEMBER)


class ChangeRoleForm(OnboardingForm):
    role = forms.ChoiceField(label="Role", choices=Role.choices)

from django import forms

from keyledger.organisations.roles import Role


class InviteUserForm(forms.Form):
    email = forms.EmailField(label="Email")
    full_name = forms.CharField(label="Name", max_length=200)
    role = forms.ChoiceField(label="Role", choices=Role.choices, initial=Role.MEMBER)


class ChangeRoleForm(forms.Form):
    role = forms.ChoiceField(label="Role", choices=Role.choices)

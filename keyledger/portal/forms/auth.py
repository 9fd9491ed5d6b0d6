from django import forms
from django.contrib.auth.forms import AuthenticationForm


class SignInForm(AuthenticationForm):
    username = forms.EmailField(
        label="Email", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )

    error_messages = {
        "invalid_login": "That email and password do not match an account with portal access.",
        "inactive": "This account has no portal access.",
    }

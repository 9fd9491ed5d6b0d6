"""Two-factor authentication: TOTP devices and recovery codes (django-otp), the sign-in's
second step, and the requirement an organisation sets for its own users or those below it."""

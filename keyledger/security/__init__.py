"""Sign-in security: wrong-password throttling, password reset and change, sessions."""

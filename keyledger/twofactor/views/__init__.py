"""The portal's two-factor pages; keyledger/portal/urls/twofactor.py routes them."""

"""One module per step of the wizard."""

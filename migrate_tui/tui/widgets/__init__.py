"""Widgets of the wizard: the line-API lists, the totals bar, the detail panels."""

"""The wizard (Textual): screens that observe the headless engine and turn the user's
choices into engine ``Decision`` objects."""

"""The one exception the app shows to people as it is."""


class InputError(ValueError):
    """A request the app refuses, with a message meant for the person who made it."""

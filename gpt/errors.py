"""The library's refusal: what a caller asked for cannot be done as asked.

Every check the library makes on what it is given (a setting out of range, a text it cannot
read, a model without the part an instrument needs, a corpus too small to split) raises
`UsageError` with a sentence meant for the person who asked. It is a `ValueError`, so code
that catches `ValueError` keeps working; an application can show a `UsageError`'s message as
it is and treat any other exception as a bug, with its traceback.
"""


class UsageError(ValueError):
    """A request refused because of what was asked, not because of a bug: the message says what to change."""

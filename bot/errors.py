"""The domain error tree. Every error a user can cause carries a one-sentence message.

    MicrodeskError                 base; ``str(exc)`` is safe to show the owner
    ├── SettingsError              a setting is missing or malformed (fails at start)
    ├── UserInputError             bad input from the owner: answered, nothing changed
    │   ├── NotFoundError          an id that does not exist
    │   └── DateError              a date that cannot be read or lies in the past
    ├── ServiceUnavailableError    a dependency (LLM, index) is down or over budget
    └── DatabaseTooNewError        the database was made by a newer microdesk (fails at start)

Anything else is a bug: it is logged with its traceback and the owner gets a generic sentence.
"""


class MicrodeskError(Exception):
    """Base of every expected error; the message is one sentence fit for the owner."""


class SettingsError(MicrodeskError):
    """A setting is missing or malformed."""


class UserInputError(MicrodeskError):
    """The owner's input cannot be used as given."""


class NotFoundError(UserInputError):
    """An id that does not exist."""


class DateError(UserInputError):
    """A date that cannot be read or is in the past."""


class ServiceUnavailableError(MicrodeskError):
    """A dependency is down, slow or over budget."""


class DatabaseTooNewError(MicrodeskError):
    """The database records a migration this version does not know."""

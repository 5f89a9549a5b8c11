"""Domain errors: each carries the one line a technician reads and the CLI exit code."""

from __future__ import annotations


class SmartlicError(Exception):
    """Base of every error smartlic reports to a user instead of a traceback."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.code = code or type(self).__name__

    def __str__(self) -> str:
        return f"{self.message} {self.hint}" if self.hint else self.message


class ConfigError(SmartlicError):
    exit_code = 2


class InvalidInput(SmartlicError):
    exit_code = 2


class NotFound(SmartlicError):
    pass


class Refused(SmartlicError):
    """The operation is not allowed in the current state (rule violated)."""


class ChangedMeanwhile(Refused):
    """A compare-and-set save found another value stored since the edit began; nothing was saved."""

    def __init__(self, message: str, *, stored: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint, code="changed_meanwhile")
        self.stored = stored
        """The value stored now ("" for none), so the face can show it and offer to keep either."""


class Conflict(SmartlicError):
    pass


class CloudUnreachable(SmartlicError):
    exit_code = 3


class Unauthorized(SmartlicError):
    pass


class InvalidAnswer(SmartlicError):
    """The cloud answered something that is not what the API promises."""


class SignatureInvalid(SmartlicError):
    pass


class StoreUnavailable(SmartlicError):
    """The store file is damaged, from a newer version, or not writable."""


class FileError(SmartlicError):
    """A file could not be read or written as asked (raised by core.safe_files only)."""


class FileRefused(InvalidInput, FileError):
    """The file given is not one smartlic reads or writes: not a regular file, too large, there
    already, not found. Nothing was read or written."""


class FileNotWritten(StoreUnavailable, FileError):
    """The system refused the write (no such folder, no permission, disk full)."""

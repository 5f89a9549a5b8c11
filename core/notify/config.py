"""The ``[notifications]`` settings: recipients, thresholds, the SMTP server and the webhook.

Secrets (the SMTP password, the webhook token) are ``SecretStr``: masked in ``repr``, logs and the
support bundle; only ``core.notify.email`` and ``core.notify.webhook`` read their values.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from core.notify.inputs import address_problem, checked_http_url, threshold_problem


class SmtpSecurity(StrEnum):
    STARTTLS = "starttls"
    SSL = "ssl"
    NONE = "none"


class SmtpSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str | None = Field(default=None, description="Mail server host name; unset means no e-mail")
    port: int | None = Field(
        default=None, ge=1, le=65535, description="Mail server port; unset: 587 (starttls), 465 (ssl), 25"
    )
    security: SmtpSecurity = Field(
        default=SmtpSecurity.STARTTLS,
        description="starttls (upgrade a plain connection), ssl (TLS from the start) or none",
    )
    username: str | None = Field(default=None, description="Login name; unset means no login")
    password: SecretStr | None = Field(default=None, description="Login password (secret: never shown)")
    timeout: float = Field(default=10.0, gt=0, le=300, description="Seconds per mail server operation")
    ca_file: Path | None = Field(
        default=None,
        description="PEM file of the certificate authorities to trust for the mail server "
        "(default: the system's); verification is never turned off",
    )

    @property
    def effective_port(self) -> int:
        if self.port is not None:
            return self.port
        return {SmtpSecurity.STARTTLS: 587, SmtpSecurity.SSL: 465, SmtpSecurity.NONE: 25}[self.security]


class WebhookSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(default=None, description="URL that receives each run's notices as JSON (POST)")
    token: SecretStr | None = Field(
        default=None, description="Bearer token sent as `Authorization: Bearer …` (secret: never shown)"
    )
    timeout: float = Field(default=10.0, gt=0, le=300, description="Seconds for the webhook request")

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        return checked_http_url(value)


class NotificationSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email_to: list[str] = Field(default_factory=list, description="E-mail recipients of the notices")
    email_from: str | None = Field(default=None, description="Sender address; unset: smartlic@<host name>")
    thresholds: list[int] | None = Field(
        default=None,
        description="Days before a maintenance license expires to send a notice (and on expiry); "
        "unset: `expiry_warning_days`",
    )
    smtp: SmtpSettings = Field(default_factory=SmtpSettings, description="The mail server")
    webhook: WebhookSettings = Field(default_factory=WebhookSettings, description="The webhook receiver")

    @field_validator("thresholds")
    @classmethod
    def _days(cls, value: list[int] | None) -> list[int] | None:
        for day in value or []:
            problem = threshold_problem(day)
            if problem:
                raise ValueError(problem)
        return value

    @field_validator("email_to")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for address in value:
            problem = address_problem(address)
            if problem:
                raise ValueError(problem)
        return value

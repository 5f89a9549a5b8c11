"""The store's SQLite schema, as a list of forward migrations (applied by ``core.sqlite_file.migrate``).

``MIGRATIONS[n - 1]`` takes a store from ``PRAGMA user_version`` n-1 to n. Migrations are only ever
appended: a released migration is never edited, because stores in the field already ran it.
"""

from __future__ import annotations

_V1 = """
CREATE TABLE segments (
    install_code TEXT PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE COLLATE NOCASE,
    position     INTEGER NOT NULL UNIQUE,
    customer_id  TEXT
);

CREATE TABLE licenses (
    license_id     TEXT PRIMARY KEY,
    install_code   TEXT NOT NULL REFERENCES segments(install_code),
    kind           TEXT NOT NULL CHECK (kind IN ('capacity', 'maintenance')),
    devices        INTEGER NOT NULL CHECK (devices > 0),
    term_years     INTEGER,
    expires_on     TEXT,
    activated_at   TEXT NOT NULL,
    note           TEXT NOT NULL DEFAULT '',
    document       TEXT NOT NULL,
    return_pending INTEGER NOT NULL DEFAULT 0 CHECK (return_pending IN (0, 1))
);
CREATE INDEX licenses_by_segment ON licenses(install_code);

CREATE TABLE devices (
    device_id    TEXT PRIMARY KEY,
    install_code TEXT NOT NULL REFERENCES segments(install_code),
    protocol     TEXT NOT NULL,
    name         TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    state        TEXT NOT NULL,
    UNIQUE (install_code, seq)
);

CREATE TABLE journal (
    op_id        TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    install_code TEXT NOT NULL,
    customer_id  TEXT NOT NULL,
    license_ids  TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    phase        TEXT NOT NULL
);

CREATE TABLE audit (
    seq          INTEGER PRIMARY KEY,
    at           TEXT NOT NULL,
    actor        TEXT NOT NULL,
    operation    TEXT NOT NULL,
    install_code TEXT,
    detail       TEXT NOT NULL,
    result       TEXT NOT NULL,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL
);
-- The hash chain detects tampering; these triggers stop accidental rewrites through SQL.
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""

# 1 -> 2: licenses given up by an offline return, until the cloud says the receipt was credited or
# the user cancels the return (core.ownership: "returned offline"). Sync never adopts them back.
_V2 = """
CREATE TABLE offline_returns (
    license_id   TEXT PRIMARY KEY,
    install_code TEXT NOT NULL REFERENCES segments(install_code),
    receipt_id   TEXT NOT NULL,
    returned_at  TEXT NOT NULL,
    note         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX offline_returns_by_segment ON offline_returns(install_code);
"""

# 2 -> 3: notifications (`smartlic notify`): which notice went out on which channel, so that each is sent
# once; and the recipients and thresholds set in the TUI, which override the settings file.
# Self-contained: it needs nothing but its own tables, so it may follow any other migration.
_NOTIFICATIONS = """
CREATE TABLE notices_sent (
    notice_key TEXT NOT NULL,
    channel    TEXT NOT NULL CHECK (channel IN ('email', 'webhook')),
    sent_at    TEXT NOT NULL,
    PRIMARY KEY (notice_key, channel)
);

CREATE TABLE notify_overrides (
    name  TEXT PRIMARY KEY CHECK (name IN ('email_to', 'thresholds')),
    value TEXT NOT NULL
);
"""

MIGRATIONS: list[str] = [
    _V1,
    _V2,
    _NOTIFICATIONS,
]

SCHEMA_VERSION = len(MIGRATIONS)

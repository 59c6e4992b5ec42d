-- Personal access tokens (ADR 0016) and share tokens (ADR 0012).

CREATE TABLE pat (
    id           uuid        PRIMARY KEY,
    usr_id       uuid        NOT NULL REFERENCES usr (id),
    -- 1..120 UTF-16 code units, checked by the service; bytes bound it here.
    name         text        NOT NULL CHECK (name <> '' AND octet_length(name) <= 480),
    scope        text[]      NOT NULL,
    expires_at   timestamptz,
    last_used_at timestamptz,
    revoked_at   timestamptz,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    -- Argon2id PHC of the secret segment; the token itself is never stored.
    secret_hash  text        NOT NULL CHECK (secret_hash LIKE '$argon2id$%'),
    CHECK (expires_at IS NULL OR expires_at <= created_at + interval '365 days')
);
CREATE INDEX pat_by_usr ON pat (usr_id, id);

CREATE TABLE shr (
    id          uuid        PRIMARY KEY,
    object_type text        NOT NULL CHECK (object_type ~ '^[a-z]{2,6}$'),
    object_id   uuid        NOT NULL,
    relation    text        NOT NULL CHECK (relation ~ '^[a-z_]{2,32}$'),
    created_by  uuid        NOT NULL REFERENCES usr (id),
    expires_at  timestamptz NOT NULL,
    single_use  boolean     NOT NULL,
    consumed_at timestamptz,
    revoked_at  timestamptz,
    created_at  timestamptz NOT NULL,
    -- SHA-256 of the token (SHR-2).
    token_hash  bytea       NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    CHECK (expires_at <= created_at + interval '365 days')
);
CREATE INDEX shr_by_object ON shr (object_id, object_type, id);

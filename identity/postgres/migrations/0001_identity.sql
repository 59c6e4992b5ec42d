-- Identity: users, credentials, sessions, verification tickets, MFA policy
-- (docs/identity.md, ADR 0004, 0008). Table names follow the spec's
-- reference schema. Times are timestamptz (microseconds, UTC on the wire).

CREATE TABLE usr (
    id           uuid        PRIMARY KEY,
    status       text        NOT NULL CHECK (status IN ('active', 'suspended', 'revoked')),
    display_name text,
    -- A platform administrator (DESIGN §4), bootstrapped from the environment.
    admin        boolean     NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);

CREATE TABLE cred (
    id                 uuid        PRIMARY KEY,
    usr_id             uuid        NOT NULL REFERENCES usr (id),
    type               text        NOT NULL CHECK (type IN ('password', 'passkey', 'oidc')),
    identifier         text        NOT NULL CHECK (identifier <> ''),
    status             text        NOT NULL CHECK (status IN ('active', 'suspended', 'revoked')),
    replaces           uuid        REFERENCES cred (id),
    password_hash      text        CHECK (password_hash LIKE '$argon2id$%'),
    passkey_rp_id      text,
    passkey_public_key bytea,
    passkey_sign_count bigint      CHECK (passkey_sign_count BETWEEN 0 AND 4294967295),
    oidc_issuer        text,
    oidc_subject       text,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    -- Each type carries exactly its own secret material.
    CHECK ((type = 'password') = (password_hash IS NOT NULL)),
    CHECK ((type = 'passkey') = (passkey_public_key IS NOT NULL AND passkey_rp_id IS NOT NULL AND passkey_sign_count IS NOT NULL)),
    CHECK ((type = 'oidc') = (oidc_issuer IS NOT NULL AND oidc_subject IS NOT NULL))
);
-- CRED-2: (type, identifier) is unique among active credentials only.
CREATE UNIQUE INDEX cred_active_identifier ON cred (type, identifier) WHERE status = 'active';
CREATE INDEX cred_by_usr ON cred (usr_id, id);

CREATE TABLE ses (
    id              uuid        PRIMARY KEY,
    usr_id          uuid        NOT NULL REFERENCES usr (id),
    cred_id         uuid        NOT NULL REFERENCES cred (id),
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    revoked_at      timestamptz,
    mfa_verified_at timestamptz,
    -- SHA-256 of the bearer token; the token itself is never stored (SES-3).
    token_hash      bytea       NOT NULL UNIQUE CHECK (length(token_hash) = 32)
);
CREATE INDEX ses_by_usr ON ses (usr_id, id);

-- Verification tickets (DESIGN §4, A1): single-use, a minute long.
CREATE TABLE verification_ticket (
    hash            bytea       PRIMARY KEY CHECK (length(hash) = 32),
    usr_id          uuid        NOT NULL REFERENCES usr (id),
    cred_id         uuid        NOT NULL REFERENCES cred (id),
    expires_at      timestamptz NOT NULL,
    mfa_required    boolean     NOT NULL,
    mfa_verified_at timestamptz
);
CREATE INDEX verification_ticket_expiry ON verification_ticket (expires_at);

CREATE TABLE usr_mfa_policy (
    usr_id      uuid        PRIMARY KEY REFERENCES usr (id),
    required    boolean     NOT NULL,
    grace_until timestamptz,
    updated_at  timestamptz NOT NULL
);

-- MFA factors and WebAuthn challenges (ADR 0008, 0010; SPEC-MAP MFA-1..7).
-- Secret material (the TOTP secret, recovery code hashes) never leaves the
-- identity module.

CREATE TABLE mfa (
    id                  uuid        PRIMARY KEY,
    usr_id              uuid        NOT NULL REFERENCES usr (id),
    type                text        NOT NULL CHECK (type IN ('totp', 'webauthn', 'recovery')),
    status              text        NOT NULL CHECK (status IN ('pending', 'active', 'suspended', 'revoked')),
    -- totp: the label; webauthn: the base64url credential ID, once
    -- confirmed; recovery: none (MFA-1).
    identifier          text        CHECK (identifier <> ''),
    replaces            uuid        REFERENCES mfa (id),
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,

    totp_secret         bytea       CHECK (length(totp_secret) >= 16),
    totp_algorithm      text        CHECK (totp_algorithm IN ('sha1', 'sha256', 'sha512')),
    totp_digits         smallint    CHECK (totp_digits BETWEEN 6 AND 10),
    -- The last time step accepted; codes of it or earlier are replays (A12).
    totp_last_step      bigint      CHECK (totp_last_step >= 0),

    webauthn_rp_id      text,
    webauthn_public_key bytea,       -- COSE key
    webauthn_sign_count bigint      CHECK (webauthn_sign_count BETWEEN 0 AND 4294967295),
    webauthn_aaguid     uuid,
    webauthn_transports text[],

    -- Each type carries exactly its own material.
    CHECK ((type = 'totp') = (totp_secret IS NOT NULL AND totp_algorithm IS NOT NULL
        AND totp_digits IS NOT NULL AND totp_last_step IS NOT NULL)),
    CHECK ((type = 'webauthn') = (webauthn_rp_id IS NOT NULL)),
    CHECK (type = 'webauthn' OR (webauthn_public_key IS NULL AND webauthn_sign_count IS NULL
        AND webauthn_aaguid IS NULL AND webauthn_transports IS NULL)),
    -- A TOTP factor always has its label; a WebAuthn one its credential
    -- once past pending; a recovery factor has no identifier and is never
    -- pending (MFA-2).
    CHECK (type <> 'totp' OR identifier IS NOT NULL),
    CHECK (type <> 'webauthn' OR status = 'pending'
        OR (identifier IS NOT NULL AND webauthn_public_key IS NOT NULL AND webauthn_sign_count IS NOT NULL)),
    CHECK (type <> 'recovery' OR (identifier IS NULL AND status <> 'pending'))
);
-- MFA-3: at most one active TOTP and one active recovery factor per user.
-- The service revokes the old row first (A13); this is the backstop.
CREATE UNIQUE INDEX mfa_active_singleton ON mfa (usr_id, type) WHERE status = 'active' AND type IN ('totp', 'recovery');
-- A WebAuthn credential is enrolled once among active factors.
CREATE UNIQUE INDEX mfa_active_webauthn ON mfa (identifier) WHERE status = 'active' AND type = 'webauthn';
CREATE INDEX mfa_by_usr ON mfa (usr_id, id);

-- The slots of a recovery factor (MFA-7): each code's Argon2id hash, kept
-- after use, and when it was used. A slot is consumed once: the store's
-- update never clears consumed_at.
CREATE TABLE mfa_recovery_code (
    mfa_id      uuid        NOT NULL REFERENCES mfa (id),
    slot        smallint    NOT NULL CHECK (slot BETWEEN 0 AND 9),
    hash        text        NOT NULL CHECK (hash LIKE '$argon2id$%'),
    consumed_at timestamptz,
    PRIMARY KEY (mfa_id, slot)
);

-- Single-use WebAuthn challenges (A10): an enrolment's (mfa_id set, id =
-- mfa_id) or a verification's. Expired rows are swept on insert.
CREATE TABLE webauthn_challenge (
    id         uuid        PRIMARY KEY,
    usr_id     uuid        NOT NULL REFERENCES usr (id),
    mfa_id     uuid        REFERENCES mfa (id),
    challenge  bytea       NOT NULL CHECK (length(challenge) BETWEEN 16 AND 64),
    rp_id      text        CHECK (rp_id <> ''),
    expires_at timestamptz NOT NULL
);
CREATE INDEX webauthn_challenge_expiry ON webauthn_challenge (expires_at);

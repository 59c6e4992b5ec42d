-- Passkey sign-in: a challenge issued before anyone is known (the
-- verifyCredential of a passkey) belongs to no user.
ALTER TABLE webauthn_challenge ALTER COLUMN usr_id DROP NOT NULL;

-- An invitation's accept token (docs/CONFORMANCE.md, "Invitation
-- tokens"): the SHA-256 of the secret createInvitation shows once. NULL
-- for an invitation made without one, which its invitee cannot accept.
ALTER TABLE inv ADD COLUMN accept_token_hash bytea CHECK (length(accept_token_hash) = 32);

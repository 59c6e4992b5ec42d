-- Indexes that keep the service's reads proportional to what they return,
-- not to an organization's or a user's whole membership history.

-- The sole-owner rules read at most two active owners of an org.
CREATE INDEX mem_owner ON mem (org_id, id) WHERE status = 'active' AND role = 'owner';
-- Listings and organization-wide changes of one status, in id order.
CREATE INDEX mem_by_org_status ON mem (org_id, status, id);
-- A user's live memberships (their orgs; their revocation).
DROP INDEX mem_by_usr;
CREATE INDEX mem_live_by_usr ON mem (usr_id, org_id) WHERE status <> 'revoked';
-- The per-org cap on pending invitations counts these.
CREATE INDEX inv_pending ON inv (org_id, expires_at) WHERE status = 'pending';

-- Tenancy: organizations, memberships and invitations (docs/tenancy.md;
-- ADR 0002, 0005, 0009, 0011). Short table names in identity's style
-- (usr, cred, ses); ids are the UUIDs behind org_, mem_ and inv_. Times are
-- timestamptz (microseconds, UTC on the wire).

CREATE TABLE org (
    id         uuid        PRIMARY KEY,
    name       text,
    slug       text,
    status     text        NOT NULL CHECK (status IN ('active', 'suspended', 'revoked')),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
-- ORG-3: a slug is unique among organizations that are not revoked; a
-- revoked organization's slug is free at once. The store maps a violation
-- of this index, by name, to tenancy.ErrSlugTaken.
CREATE UNIQUE INDEX org_live_slug ON org (slug) WHERE slug IS NOT NULL AND status <> 'revoked';

CREATE TABLE mem (
    id         uuid        PRIMARY KEY,
    usr_id     uuid        NOT NULL REFERENCES usr (id),
    org_id     uuid        NOT NULL REFERENCES org (id),
    role       text        NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'guest', 'viewer', 'editor')),
    status     text        NOT NULL CHECK (status IN ('active', 'suspended', 'revoked')),
    -- MEM-3: the membership a role change revoked for this one.
    replaces   uuid        REFERENCES mem (id),
    invited_by uuid,
    -- The admin of an adminRemove; NULL for a self-leave or while not revoked.
    removed_by uuid,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
-- MEM-1: at most one active membership per user and org. The store maps a
-- violation, by name, to tenancy.ErrDuplicateMembership.
CREATE UNIQUE INDEX mem_active ON mem (org_id, usr_id) WHERE status = 'active';
CREATE INDEX mem_by_org ON mem (org_id, id);
CREATE INDEX mem_by_usr ON mem (usr_id, id);

CREATE TABLE inv (
    id              uuid        PRIMARY KEY,
    org_id          uuid        NOT NULL REFERENCES org (id),
    identifier      text        NOT NULL CHECK (identifier <> ''),
    role            text        NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'guest', 'viewer', 'editor')),
    -- A pending row past expires_at reads as expired (INV-3); the row is
    -- not rewritten when it lapses.
    status          text        NOT NULL CHECK (status IN ('pending', 'accepted', 'declined', 'revoked', 'expired')),
    -- INV-7: [{"relation", "object_type", "object_id"}], the subject being
    -- the invitee once known.
    pre_tuples      jsonb       NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(pre_tuples) = 'array'),
    invited_by      uuid,
    invited_user_id uuid,
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    terminal_at     timestamptz,
    terminal_by     uuid
);
CREATE INDEX inv_by_org ON inv (org_id, id);

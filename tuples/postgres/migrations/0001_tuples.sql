-- Tuples: the one table authorization and tenancy share (ADR 0001, 0017).
-- Formats are checked here as well as in the application (SPEC-MAP ID-8).
CREATE TABLE tup (
    id           uuid        PRIMARY KEY,
    subject_type text        NOT NULL CHECK (subject_type ~ '^[a-z]{2,6}$'),
    subject_id   uuid        NOT NULL CHECK (subject_id <> '00000000-0000-0000-0000-000000000000'
                                         AND subject_id <> 'ffffffff-ffff-ffff-ffff-ffffffffffff'),
    relation     text        NOT NULL CHECK (relation ~ '^[a-z_]{2,32}$'),
    object_type  text        NOT NULL CHECK (object_type ~ '^[a-z]{2,6}$'),
    object_id    uuid        NOT NULL CHECK (object_id <> '00000000-0000-0000-0000-000000000000'
                                         AND object_id <> 'ffffffff-ffff-ffff-ffff-ffffffffffff'),
    created_by   uuid,
    created_at   timestamptz NOT NULL DEFAULT now(),
    -- The natural key (AZ-1). Its index also finds a subject's tuples:
    -- direct lookups, listing by subject, and the cascade that deletes every
    -- tuple of a subject. The UUIDs lead because they decide almost every
    -- comparison at once, which makes inserts a quarter cheaper than with
    -- the types first; the type is then a filter inside the index.
    CONSTRAINT tup_natural_key UNIQUE (subject_id, object_id, relation, subject_type, object_type)
);

-- An object's tuples: tuple_to_userset enumeration (the subjects of one
-- relation on one object), listing by object with or without a relation, and
-- deleting an object's tuples.
--
-- Every index costs every write (here, most of the cost: WAL), and the
-- service reads listings and checks from its in-memory graph, not from these
-- tables. So listings in id order take the rows of one subject or object
-- from these two indexes and sort them, rather than keeping an index per
-- order.
CREATE INDEX tup_by_object ON tup (object_id, object_type, relation, id);

-- The revision counter. Every transaction that changes tuples takes the next
-- revision by updating this one row as its last step before commit; the row
-- lock makes revisions commit in order, so a reader of the changelog that has
-- seen revision N has seen every revision before it.
CREATE TABLE tup_revision (
    singleton      boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    rev            bigint  NOT NULL DEFAULT 0,
    -- Changelog rows up to here have been pruned: a replica behind it reloads.
    pruned_through bigint  NOT NULL DEFAULT 0,
    -- Drawn once: consistency tokens carry it, so a token of another database
    -- is refused instead of misread.
    epoch          bigint  NOT NULL DEFAULT (floor(random() * 9007199254740991))::bigint
);
INSERT INTO tup_revision DEFAULT VALUES;

-- One row per revision: what it changed, in the binary form that
-- tuples/postgres/changelog.go documents. Replicas tail this table.
CREATE TABLE tup_changelog (
    rev          bigint      PRIMARY KEY,
    committed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    changes      bytea       NOT NULL
);
-- The changes are mostly random UUIDs: compressing them costs more time than
-- it saves space.
ALTER TABLE tup_changelog ALTER COLUMN changes SET STORAGE EXTERNAL;
-- Pruning finds the revisions older than the retention window.
CREATE INDEX tup_changelog_committed_at ON tup_changelog (committed_at);

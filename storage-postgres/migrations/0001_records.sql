-- Records of the record ports. Every table is keyed by organization first, so no query can reach another
-- tenant's rows without naming it, and every listing is a range of one B-tree.
--
-- Each row keeps the record as the engine wrote it (`doc`, JSONB; nanosecond timestamps included) beside the
-- columns that queries constrain, filter or sort on. Both are written from the same value in the same statement.
-- Ids and names use the "C" collation: ULID ids then sort by creation time, and names sort bytewise, as
-- every other backend orders them.

CREATE TABLE applications (
    org_id text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    uid text COLLATE "C",
    doc jsonb NOT NULL,
    CONSTRAINT applications_pkey PRIMARY KEY (org_id, id),
    CONSTRAINT applications_uid_key UNIQUE (org_id, uid)
);

CREATE TABLE endpoints (
    org_id text COLLATE "C" NOT NULL,
    app_id text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    uid text COLLATE "C",
    doc jsonb NOT NULL,
    CONSTRAINT endpoints_pkey PRIMARY KEY (org_id, app_id, id),
    CONSTRAINT endpoints_uid_key UNIQUE (org_id, app_id, uid)
);

CREATE TABLE event_types (
    org_id text COLLATE "C" NOT NULL,
    name text COLLATE "C" NOT NULL,
    archived boolean NOT NULL,
    doc jsonb NOT NULL,
    CONSTRAINT event_types_pkey PRIMARY KEY (org_id, name)
);

-- The payload is kept as the sender's exact text (signatures are over it); `doc` holds the rest.
CREATE TABLE messages (
    org_id text COLLATE "C" NOT NULL,
    app_id text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    event_type text COLLATE "C" NOT NULL,
    event_id text COLLATE "C",
    channels text[],
    created_at timestamptz NOT NULL,
    payload text NOT NULL,
    doc jsonb NOT NULL,
    CONSTRAINT messages_pkey PRIMARY KEY (org_id, app_id, id),
    CONSTRAINT messages_event_id_key UNIQUE (org_id, app_id, event_id)
);
-- Newest messages of one event type, without walking the others.
CREATE INDEX messages_by_event_type ON messages (org_id, app_id, event_type, id);

-- The primary key serves "attempts of a message"; the two indexes serve "attempts of an endpoint", with and
-- without a status filter.
CREATE TABLE attempts (
    org_id text COLLATE "C" NOT NULL,
    app_id text COLLATE "C" NOT NULL,
    msg_id text COLLATE "C" NOT NULL,
    endpoint_id text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    status smallint NOT NULL,
    response_status_code smallint NOT NULL,
    event_type text COLLATE "C" NOT NULL,
    channels text[],
    created_at timestamptz NOT NULL,
    doc jsonb NOT NULL,
    CONSTRAINT attempts_pkey PRIMARY KEY (org_id, app_id, msg_id, id)
);
CREATE INDEX attempts_by_endpoint ON attempts (org_id, app_id, endpoint_id, id);
CREATE INDEX attempts_by_endpoint_status ON attempts (org_id, app_id, endpoint_id, status, id);

-- One row per (message, endpoint): the primary key serves "destinations of a message", the index
-- "destinations of an endpoint". Time filters are ranges of `msg_id`, whose ULID carries the message's time.
CREATE TABLE destinations (
    org_id text COLLATE "C" NOT NULL,
    app_id text COLLATE "C" NOT NULL,
    msg_id text COLLATE "C" NOT NULL,
    endpoint_id text COLLATE "C" NOT NULL,
    status smallint NOT NULL,
    event_type text COLLATE "C" NOT NULL,
    channels text[],
    doc jsonb NOT NULL,
    CONSTRAINT destinations_pkey PRIMARY KEY (org_id, app_id, msg_id, endpoint_id)
);
CREATE INDEX destinations_by_endpoint ON destinations (org_id, app_id, endpoint_id, msg_id);

-- Retention: when each payload stops being kept, and the two cross-tenant orders the operator jobs scan.
--
-- `payload_expires_at` is the message's creation plus its own retention period; it is cleared once the payload
-- is expunged (by the sender or by expiry), so the partial index holds only payloads still to expire, and the
-- cleaner's batch is a range of it. Rows written before this migration get theirs from `doc`.
ALTER TABLE messages ADD COLUMN payload_expires_at timestamptz;
UPDATE messages
SET payload_expires_at = created_at + make_interval(days => (doc ->> 'retention_days')::int)
WHERE payload <> '{}';
CREATE INDEX messages_by_payload_expiry ON messages (payload_expires_at) WHERE payload_expires_at IS NOT NULL;

-- Messages across tenants in the order of their ids' time part (`msg_` and the ULID's 10 time characters):
-- `xwebhook prune` deletes from its low end. An expression index rather than one on `id`, which the planner
-- would also pick for one application's listings, scanning every tenant's ids in the window.
CREATE INDEX messages_by_id_time ON messages ((left(id, 14)));

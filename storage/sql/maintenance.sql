-- name: ensure_partitions
-- idempotent: yes
-- Creates the daily partitions of completed jobs, logs and events from
-- yesterday up to $1 days ahead. Returns the names created (or skipped).
SELECT millrace_ensure_partitions($1::integer) AS created

-- name: drop_partitions
-- idempotent: yes
-- Retention: drops partitions that ended more than $1 days ago.
SELECT millrace_drop_partitions(now() - make_interval(days => $1::integer)) AS dropped

-- name: db_now
-- The database clock. Leases are measured on it, never on a worker's clock.
SELECT now() AS now

-- name: fence
-- Does nothing. The writer sends it to every connection but one before a
-- barrier write, to learn when everything queued before the barrier has
-- committed.
SELECT 1 AS fence

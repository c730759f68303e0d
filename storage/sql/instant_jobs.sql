-- Jobs without a process (kinds noop and identity): their attempt starts and
-- ends within microseconds on the worker slot, so the dispatcher does not
-- write the claim on its own. It records the whole attempt, claim and end, in
-- one write when the slot reports it done. Fencing is the claim's: the live
-- queue row must still be queued at the previous attempt. Both events are
-- written: 'running' at the start time the dispatcher saw, then the terminal
-- one. If the server dies before this write commits, the job is still queued
-- in the database and runs again (at least once).

-- name: complete_unclaimed
-- mode: bulk
-- match: ordinality
-- careful: complete_unclaimed_careful
-- Returns (i, completed_at) for each attempt recorded.
-- Params: job_id, attempt (the new one), lease_owner, status, result (jsonb),
--         job_created_at, kind, script_path, created_by, parent_job,
--         started_ms (start, milliseconds since the epoch)
WITH u AS (
  SELECT * FROM unnest($1::uuid[], $2::integer[], $3::text[], $4::text[], $5::jsonb[],
                       $6::timestamptz[], $7::text[], $8::text[], $9::text[], $10::uuid[],
                       $11::bigint[])
    WITH ORDINALITY AS t(job_id, attempt, owner, status, result, job_created_at, kind,
                         script_path, created_by, parent_job, started_ms, i)
), d AS (
  DELETE FROM job_queue q USING u
  WHERE q.job_id = u.job_id AND q.state = 'queued' AND q.attempt = u.attempt - 1
  RETURNING u.*, to_timestamp(u.started_ms / 1000.0) AS started_at, q.workspace_id, q.tag,
            q.restarts, q.created_at, q.log_bytes, q.canceled_by, q.cancel_reason
), c AS (
  INSERT INTO job_completed (job_id, workspace_id, kind, script_path, tag, created_by,
                             parent_job, status, result, attempt, restarts, created_at,
                             started_at, completed_at, duration_ms, log_bytes, canceled_by,
                             cancel_reason)
  SELECT job_id, workspace_id, kind, script_path, tag, created_by, parent_job, status, result,
         attempt, restarts, created_at, started_at, now(),
         greatest(0, (extract(epoch FROM now() - started_at) * 1000)::bigint), log_bytes,
         canceled_by, cancel_reason
  FROM d
), ev AS (
  INSERT INTO job_event (job_id, job_created_at, attempt, kind, at, detail)
  SELECT job_id, job_created_at, attempt, 'running', started_at,
         jsonb_build_object('owner', owner)
  FROM d
  UNION ALL
  SELECT job_id, job_created_at, attempt, status, now(), NULL FROM d
)
SELECT i, now() AS completed_at FROM d

-- name: complete_unclaimed_careful
-- mode: bulk
-- match: ordinality
-- complete_unclaimed for re-sends: an attempt already completed counts as
-- recorded.
WITH u AS (
  SELECT * FROM unnest($1::uuid[], $2::integer[], $3::text[], $4::text[], $5::jsonb[],
                       $6::timestamptz[], $7::text[], $8::text[], $9::text[], $10::uuid[],
                       $11::bigint[])
    WITH ORDINALITY AS t(job_id, attempt, owner, status, result, job_created_at, kind,
                         script_path, created_by, parent_job, started_ms, i)
), d AS (
  DELETE FROM job_queue q USING u
  WHERE q.job_id = u.job_id AND q.state = 'queued' AND q.attempt = u.attempt - 1
  RETURNING u.*, to_timestamp(u.started_ms / 1000.0) AS started_at, q.workspace_id, q.tag,
            q.restarts, q.created_at, q.log_bytes, q.canceled_by, q.cancel_reason
), c AS (
  INSERT INTO job_completed (job_id, workspace_id, kind, script_path, tag, created_by,
                             parent_job, status, result, attempt, restarts, created_at,
                             started_at, completed_at, duration_ms, log_bytes, canceled_by,
                             cancel_reason)
  SELECT job_id, workspace_id, kind, script_path, tag, created_by, parent_job, status, result,
         attempt, restarts, created_at, started_at, now(),
         greatest(0, (extract(epoch FROM now() - started_at) * 1000)::bigint), log_bytes,
         canceled_by, cancel_reason
  FROM d
), ev AS (
  INSERT INTO job_event (job_id, job_created_at, attempt, kind, at, detail)
  SELECT job_id, job_created_at, attempt, 'running', started_at,
         jsonb_build_object('owner', owner)
  FROM d
  UNION ALL
  SELECT job_id, job_created_at, attempt, status, now(), NULL FROM d
  ON CONFLICT DO NOTHING
)
SELECT i, now() AS completed_at FROM d
UNION ALL
SELECT u.i, c.completed_at FROM u JOIN job_completed c
  ON c.job_id = u.job_id AND c.attempt = u.attempt AND c.completed_at >= u.job_created_at

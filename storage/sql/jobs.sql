-- Named statements on jobs. See storage/statements.hpp for the header format
-- (bulk statements, row matching, careful twins).

-- name: enqueue_job
-- mode: bulk
-- match: key
-- careful: enqueue_job_careful
-- Submits jobs: the immutable definition, the live queue row and the "queued"
-- event, in one statement. Returns a row (id, created_at, scheduled_for) for
-- each job inserted. A job id or idempotency key that already exists fails the
-- plain statement (unique violation); the writer then re-runs the writes with
-- the careful twin below, one per transaction, and the existing job's write
-- returns no row; its caller then looks the job up (find_job_by_key).
-- Params: id, workspace_id, kind, script_path, script_hash, raw_code, language,
--         args (jsonb), tag, priority, timeout_s, scheduled_for, parent_job,
--         root_job, created_by, idempotency_key, request_hash, worker_node
WITH ins AS (
  INSERT INTO job (id, workspace_id, kind, script_path, script_hash, raw_code, language, args, tag,
                   priority, timeout_s, scheduled_for, parent_job, root_job, created_by,
                   idempotency_key, request_hash, worker_node)
  SELECT *
  FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
              $8::jsonb[], $9::text[], $10::smallint[], $11::integer[], $12::timestamptz[],
              $13::uuid[], $14::uuid[], $15::text[], $16::text[], $17::text[], $18::text[])
  RETURNING id, workspace_id, tag, priority, scheduled_for, created_at
), q AS (
  INSERT INTO job_queue (job_id, workspace_id, tag, priority, scheduled_for, created_at, state)
  SELECT id, workspace_id, tag, priority, COALESCE(scheduled_for, created_at), created_at, 'queued'
  FROM ins
), ev AS (
  INSERT INTO job_event (job_id, job_created_at, attempt, kind)
  SELECT id, created_at, 0, 'queued' FROM ins
)
SELECT id, created_at, COALESCE(scheduled_for, created_at) AS scheduled_for FROM ins

-- name: enqueue_job_careful
-- mode: bulk
-- match: key
-- idempotent: yes
-- enqueue_job for re-sends: a job that already exists is skipped, not an error.
WITH ins AS (
  INSERT INTO job (id, workspace_id, kind, script_path, script_hash, raw_code, language, args, tag,
                   priority, timeout_s, scheduled_for, parent_job, root_job, created_by,
                   idempotency_key, request_hash, worker_node)
  SELECT *
  FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
              $8::jsonb[], $9::text[], $10::smallint[], $11::integer[], $12::timestamptz[],
              $13::uuid[], $14::uuid[], $15::text[], $16::text[], $17::text[], $18::text[])
  ON CONFLICT DO NOTHING
  RETURNING id, workspace_id, tag, priority, scheduled_for, created_at
), q AS (
  INSERT INTO job_queue (job_id, workspace_id, tag, priority, scheduled_for, created_at, state)
  SELECT id, workspace_id, tag, priority, COALESCE(scheduled_for, created_at), created_at, 'queued'
  FROM ins
), ev AS (
  INSERT INTO job_event (job_id, job_created_at, attempt, kind)
  SELECT id, created_at, 0, 'queued' FROM ins
)
SELECT id, created_at, COALESCE(scheduled_for, created_at) AS scheduled_for FROM ins

-- name: find_job_by_key
-- The job an id or an idempotency key already names (after enqueue_job
-- inserted nothing). Params: id, workspace_id, idempotency_key.
-- by_key tells a match of the key from a match of the id alone.
SELECT id, created_at, COALESCE(scheduled_for, created_at) AS scheduled_for, request_hash,
       ($3::text IS NOT NULL AND workspace_id = $2 AND idempotency_key = $3) AS by_key
FROM job
WHERE id = $1::uuid
   OR ($3::text IS NOT NULL AND workspace_id = $2 AND idempotency_key = $3)
ORDER BY by_key DESC
LIMIT 1

-- name: get_job
-- Reads one job's definition.
SELECT id, workspace_id, kind, script_path, script_hash, language, args, tag, priority, timeout_s,
       scheduled_for, parent_job, root_job, created_by, created_at
FROM job WHERE id = $1::uuid

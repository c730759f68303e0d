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

-- name: enqueue_claimed_job
-- mode: bulk
-- match: key
-- careful: enqueue_claimed_job_careful
-- Submits jobs that idle worker slots are already reserved for: each is
-- inserted as attempt 1 of its slot's lease owner, running, with its "queued"
-- and "running" events, in one statement. It leaves the same rows as
-- enqueue_job followed by claim_job, without the queue row's UPDATE. Every
-- row takes its values from the unnested input (created_at is now(), the
-- job's default), so nothing joins the input with the inserted rows.
-- Same result rows as enqueue_job.
-- Params: those of enqueue_job, then lease_owner, lease_ms
WITH u AS (
  SELECT *
  FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
              $8::jsonb[], $9::text[], $10::smallint[], $11::integer[], $12::timestamptz[],
              $13::uuid[], $14::uuid[], $15::text[], $16::text[], $17::text[], $18::text[],
              $19::text[], $20::integer[])
    AS t(id, workspace_id, kind, script_path, script_hash, raw_code, language, args, tag, priority,
         timeout_s, scheduled_for, parent_job, root_job, created_by, idempotency_key,
         request_hash, worker_node, owner, lease_ms)
), ins AS (
  INSERT INTO job (id, workspace_id, kind, script_path, script_hash, raw_code, language, args, tag,
                   priority, timeout_s, scheduled_for, parent_job, root_job, created_by,
                   idempotency_key, request_hash, worker_node)
  SELECT id, workspace_id, kind, script_path, script_hash, raw_code, language, args, tag, priority,
         timeout_s, scheduled_for, parent_job, root_job, created_by, idempotency_key,
         request_hash, worker_node
  FROM u
  RETURNING id, created_at, scheduled_for
), q AS (
  INSERT INTO job_queue (job_id, workspace_id, tag, priority, scheduled_for, created_at, state,
                         attempt, lease_owner, lease_deadline, started_at)
  SELECT id, workspace_id, tag, priority, COALESCE(scheduled_for, now()), now(), 'running', 1,
         owner, now() + lease_ms * interval '1 millisecond', now()
  FROM u
), ev AS (
  INSERT INTO job_event (job_id, job_created_at, attempt, kind, detail)
  SELECT id, now(), 0, 'queued', NULL::jsonb FROM u
  UNION ALL
  SELECT id, now(), 1, 'running', jsonb_build_object('owner', owner) FROM u
)
SELECT id, created_at, COALESCE(scheduled_for, created_at) AS scheduled_for FROM ins

-- name: enqueue_claimed_job_careful
-- mode: bulk
-- match: key
-- idempotent: yes
-- enqueue_claimed_job for re-sends: a job that already exists is not
-- inserted again. It still returns its row when it is this very claim's
-- (running as attempt 1 of the same lease owner: the first send committed);
-- any other existing job returns no row, as with enqueue_job_careful.
WITH u AS (
  SELECT *
  FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
              $8::jsonb[], $9::text[], $10::smallint[], $11::integer[], $12::timestamptz[],
              $13::uuid[], $14::uuid[], $15::text[], $16::text[], $17::text[], $18::text[],
              $19::text[], $20::integer[])
    AS t(id, workspace_id, kind, script_path, script_hash, raw_code, language, args, tag, priority,
         timeout_s, scheduled_for, parent_job, root_job, created_by, idempotency_key,
         request_hash, worker_node, owner, lease_ms)
), ins AS (
  INSERT INTO job (id, workspace_id, kind, script_path, script_hash, raw_code, language, args, tag,
                   priority, timeout_s, scheduled_for, parent_job, root_job, created_by,
                   idempotency_key, request_hash, worker_node)
  SELECT id, workspace_id, kind, script_path, script_hash, raw_code, language, args, tag, priority,
         timeout_s, scheduled_for, parent_job, root_job, created_by, idempotency_key,
         request_hash, worker_node
  FROM u
  ON CONFLICT DO NOTHING
  RETURNING id, created_at, scheduled_for
), q AS (
  INSERT INTO job_queue (job_id, workspace_id, tag, priority, scheduled_for, created_at, state,
                         attempt, lease_owner, lease_deadline, started_at)
  SELECT id, workspace_id, tag, priority, COALESCE(scheduled_for, now()), now(), 'running', 1,
         owner, now() + lease_ms * interval '1 millisecond', now()
  FROM u WHERE id IN (SELECT id FROM ins)
  ON CONFLICT DO NOTHING
), ev AS (
  INSERT INTO job_event (job_id, job_created_at, attempt, kind, detail)
  SELECT id, now(), 0, 'queued', NULL::jsonb FROM u WHERE id IN (SELECT id FROM ins)
  UNION ALL
  SELECT id, now(), 1, 'running', jsonb_build_object('owner', owner)
  FROM u WHERE id IN (SELECT id FROM ins)
  ON CONFLICT DO NOTHING
)
SELECT id, created_at, COALESCE(scheduled_for, created_at) AS scheduled_for FROM ins
UNION ALL
-- (The statement's own inserts are not visible here: only a job committed
-- before it matches.)
SELECT j.id, j.created_at, COALESCE(j.scheduled_for, j.created_at)
FROM u
JOIN job_queue q ON q.job_id = u.id
JOIN job j ON j.id = u.id
WHERE q.state = 'running' AND q.attempt = 1 AND q.lease_owner = u.owner

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

-- Named statements on jobs. See storage/statements.hpp for the header format.
-- Bulk statements take one array per parameter (one element per write) and
-- return the 1-based ordinality of the write as their first column.

-- name: enqueue_job
-- mode: bulk
-- idempotent: yes
-- Submits jobs: the immutable definition, the live queue row and the "queued"
-- event, in one statement. A job whose id or idempotency key already exists is
-- not inserted again; the row then names the existing job, so a re-sent batch
-- and an Idempotency-Key replay both get the first job back.
-- Params: id, workspace_id, kind, script_path, script_hash, raw_code, language,
--         args (jsonb), tag, priority, timeout_s, scheduled_for, parent_job,
--         root_job, created_by, idempotency_key, request_hash
-- Returns: i, inserted, job_id, created_at, scheduled_for, prior_request_hash
WITH input AS (
  SELECT *
  FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
              $8::jsonb[], $9::text[], $10::smallint[], $11::integer[], $12::timestamptz[],
              $13::uuid[], $14::uuid[], $15::text[], $16::text[], $17::text[])
    WITH ORDINALITY AS t(id, workspace_id, kind, script_path, script_hash, raw_code, language, args,
                         tag, priority, timeout_s, scheduled_for, parent_job, root_job, created_by,
                         idempotency_key, request_hash, i)
), ins AS (
  INSERT INTO job (id, workspace_id, kind, script_path, script_hash, raw_code, language, args, tag,
                   priority, timeout_s, scheduled_for, parent_job, root_job, created_by,
                   idempotency_key, request_hash)
  SELECT id, workspace_id, kind, script_path, script_hash, raw_code, language, args, tag,
         priority, timeout_s, scheduled_for, parent_job, root_job, created_by, idempotency_key,
         request_hash
  FROM input
  ORDER BY i
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
SELECT input.i,
       ins.id IS NOT NULL AS inserted,
       COALESCE(ins.id, prior.id) AS job_id,
       COALESCE(ins.created_at, prior.created_at) AS created_at,
       COALESCE(ins.scheduled_for, prior.scheduled_for, ins.created_at, prior.created_at) AS scheduled_for,
       prior.request_hash AS prior_request_hash
FROM input
LEFT JOIN ins ON ins.id = input.id
LEFT JOIN LATERAL (
  SELECT j.id, j.created_at, j.scheduled_for, j.request_hash
  FROM job j
  WHERE ins.id IS NULL
    AND (j.id = input.id
         OR (input.idempotency_key IS NOT NULL AND j.workspace_id = input.workspace_id
             AND j.idempotency_key = input.idempotency_key))
  LIMIT 1
) prior ON true

-- name: get_job
-- Reads one job's definition.
SELECT id, workspace_id, kind, script_path, script_hash, language, args, tag, priority, timeout_s,
       scheduled_for, parent_job, root_job, created_by, created_at
FROM job WHERE id = $1::uuid

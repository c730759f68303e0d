-- What the HTTP API reads and writes besides jobs (storage/sql/jobs.sql):
-- tokens, workspaces, scripts, and the job views. Reads go through the reader
-- pool, writes through the writer (single statements: one write each).
-- Workspace ids are checked by every statement that takes one: an object of
-- another workspace is never returned (the API answers 404).

-- name: token_by_digest
-- Authentication. Params: digest (hex of SHA-256 of the token).
SELECT id, workspace_id, role, label, created_by,
       expires_at IS NOT NULL AND expires_at <= now() AS expired,
       revoked_at IS NOT NULL AS revoked
FROM api_token WHERE digest = decode($1, 'hex')

-- name: token_count
SELECT count(*) AS n FROM api_token

-- name: tokens_list
-- Params: workspace_id (NULL: every token).
SELECT id, prefix, label, workspace_id, role, created_by, created_at, expires_at, revoked_at
FROM api_token
WHERE $1::text IS NULL OR workspace_id = $1
ORDER BY created_at DESC, id
LIMIT 1000

-- name: create_token
-- Params: id, digest (hex), prefix, label, workspace_id (NULL: all), role,
--         created_by, expires_at (NULL: never).
INSERT INTO api_token (id, digest, prefix, label, workspace_id, role, created_by, expires_at)
VALUES ($1::uuid, decode($2, 'hex'), $3, $4, $5, $6, $7, $8::timestamptz)
RETURNING id, created_at, expires_at

-- name: revoke_token
-- Params: id, workspace_id (NULL: any). Returns the token when it exists in
-- that scope (revoking twice keeps the first time).
UPDATE api_token SET revoked_at = COALESCE(revoked_at, now())
WHERE id = $1::uuid AND ($2::text IS NULL OR workspace_id = $2)
RETURNING id, revoked_at

-- name: secret_get
-- Params: name.
SELECT encode(value, 'hex') AS value FROM server_secret WHERE name = $1

-- name: secret_put
-- Params: name, value (hex). The first value stays.
INSERT INTO server_secret (name, value) VALUES ($1, decode($2, 'hex'))
ON CONFLICT (name) DO NOTHING

-- name: workspaces_list
-- Params: workspace_id (NULL: all).
SELECT id, name, created_at FROM workspace
WHERE NOT archived AND ($1::text IS NULL OR id = $1)
ORDER BY id

-- name: workspace_exists
-- Params: workspace_id.
SELECT id FROM workspace WHERE id = $1 AND NOT archived

-- name: create_workspace
-- Params: id, name. Returns nothing when the id is taken.
INSERT INTO workspace (id, name) VALUES ($1, $2)
ON CONFLICT (id) DO NOTHING
RETURNING id, name, created_at

-- name: create_script
-- A new version of a path (or the same content again: the version exists,
-- the path points at it). Params: workspace_id, hash, path, language,
-- content, schema, summary, description, created_by.
WITH prev AS (
  SELECT hash FROM script WHERE workspace_id = $1 AND path = $3
), v AS (
  INSERT INTO script_version (workspace_id, hash, path, language, content, schema, summary,
                              description, parent_hash, created_by)
  SELECT $1, $2, $3, $4, $5, $6::jsonb, $7, $8,
         (SELECT hash FROM prev WHERE hash <> $2), $9
  ON CONFLICT (workspace_id, hash) DO NOTHING
  RETURNING hash
), s AS (
  INSERT INTO script (workspace_id, path, hash) VALUES ($1, $3, $2)
  ON CONFLICT (workspace_id, path)
    DO UPDATE SET hash = EXCLUDED.hash, archived = false, updated_at = now()
  RETURNING hash, created_at, updated_at
)
SELECT s.hash, s.created_at, s.updated_at, (SELECT hash FROM prev) AS previous_hash FROM s

-- name: archive_script
-- Params: workspace_id, path.
UPDATE script SET archived = true, updated_at = now()
WHERE workspace_id = $1 AND path = $2
RETURNING path, hash

-- name: script_by_path
-- Params: workspace_id, path.
SELECT s.path, s.hash, s.archived, v.language, v.content, v.schema, v.summary, v.description,
       v.parent_hash, v.created_by, v.created_at, s.updated_at
FROM script s
JOIN script_version v ON v.workspace_id = s.workspace_id AND v.hash = s.hash
WHERE s.workspace_id = $1 AND s.path = $2

-- name: script_by_hash
-- Params: workspace_id, hash.
SELECT v.path, v.hash, COALESCE(s.archived, true) OR s.hash <> v.hash AS archived,
       v.language, v.content, v.schema, v.summary, v.description, v.parent_hash, v.created_by,
       v.created_at, s.updated_at
FROM script_version v
LEFT JOIN script s ON s.workspace_id = v.workspace_id AND s.path = v.path
WHERE v.workspace_id = $1 AND v.hash = $2

-- name: scripts_list
-- Params: workspace_id, path_start (NULL: any), language (NULL: any),
--         include_archived, after_path (keyset, NULL: from the start), limit.
SELECT s.path, s.hash, s.archived, v.language, v.summary, v.description, v.created_by,
       s.created_at, s.updated_at
FROM script s
JOIN script_version v ON v.workspace_id = s.workspace_id AND v.hash = s.hash
WHERE s.workspace_id = $1
  AND ($2::text IS NULL OR starts_with(s.path, $2))
  AND ($3::text IS NULL OR v.language = $3)
  AND ($4::boolean OR NOT s.archived)
  AND ($5::text IS NULL OR s.path > $5)
ORDER BY s.path
LIMIT $6::integer

-- name: script_history
-- Params: workspace_id, path.
SELECT hash, parent_hash, summary, created_by, created_at
FROM script_version
WHERE workspace_id = $1 AND path = $2
ORDER BY created_at DESC, hash
LIMIT 1000

-- name: job_view
-- One job as jobs_u/get shows it. Params: job_id, workspace_id.
SELECT j.id, j.workspace_id, j.kind, j.script_path, j.script_hash, j.language, j.args, j.tag,
       j.priority, j.timeout_s, j.scheduled_for, j.parent_job, j.root_job, j.created_by,
       j.created_at, j.raw_code,
       COALESCE(q.state, c.status) AS state, COALESCE(q.attempt, c.attempt) AS attempt,
       COALESCE(q.started_at, c.started_at) AS started_at, c.completed_at, c.duration_ms,
       c.result, COALESCE(q.log_bytes, c.log_bytes, 0) AS log_bytes,
       COALESCE(q.canceled_by, c.canceled_by) AS canceled_by,
       COALESCE(q.cancel_reason, c.cancel_reason) AS cancel_reason,
       q.cancel_requested_at IS NOT NULL AS cancel_requested,
       COALESCE(q.flow_status, c.flow_status) AS flow_status
FROM job j
LEFT JOIN job_queue q ON q.job_id = j.id
LEFT JOIN LATERAL (
  SELECT status, attempt, started_at, completed_at, duration_ms, result, log_bytes, canceled_by,
         cancel_reason, flow_status
  FROM job_completed
  WHERE job_id = j.id AND completed_at >= j.created_at
  ORDER BY completed_at DESC LIMIT 1
) c ON true
WHERE j.id = $1::uuid AND j.workspace_id = $2

-- name: jobs_list
-- A workspace's jobs, newest first. Params: workspace_id, state (NULL: any;
-- queued, running, success, failure, canceled, timed_out, or 'completed'),
-- script_path, path_start, tag, created_after, created_before,
-- cursor_created_at, cursor_id (keyset: rows after it; NULL: from the top),
-- limit.
SELECT j.id, j.kind, j.script_path, j.script_hash, j.language, j.tag, j.priority,
       j.created_by, j.created_at, j.scheduled_for, j.parent_job,
       COALESCE(q.state, c.status) AS state, COALESCE(q.attempt, c.attempt) AS attempt,
       COALESCE(q.started_at, c.started_at) AS started_at, c.completed_at, c.duration_ms
FROM job j
LEFT JOIN job_queue q ON q.job_id = j.id
LEFT JOIN LATERAL (
  SELECT status, attempt, started_at, completed_at, duration_ms FROM job_completed
  WHERE job_id = j.id AND completed_at >= j.created_at
  ORDER BY completed_at DESC LIMIT 1
) c ON true
WHERE j.workspace_id = $1
  AND ($3::text IS NULL OR j.script_path = $3)
  AND ($4::text IS NULL OR starts_with(j.script_path, $4))
  AND ($5::text IS NULL OR j.tag = $5)
  AND ($6::timestamptz IS NULL OR j.created_at >= $6)
  AND ($7::timestamptz IS NULL OR j.created_at < $7)
  AND ($8::timestamptz IS NULL OR (j.created_at, j.id) < ($8, $9::uuid))
  AND ($2::text IS NULL
       OR ($2 = 'completed' AND c.status IS NOT NULL)
       OR COALESCE(q.state, c.status) = $2)
ORDER BY j.created_at DESC, j.id DESC
LIMIT $10::integer

-- name: completed_list
-- A workspace's finished jobs, last finished first. Params: workspace_id,
-- status (NULL: any; 'failed': every status but success), script_path,
-- path_start, tag, completed_after, completed_before, cursor_completed_at,
-- cursor_id, limit. A result over 16 KiB (as text) is left out of the page
-- (result_omitted): a page stays small whatever the jobs returned.
SELECT c.job_id AS id, c.kind, c.script_path, c.tag, c.created_by, c.status, c.attempt,
       c.created_at, c.started_at, c.completed_at, c.duration_ms,
       CASE WHEN octet_length(c.result::text) <= 16384 THEN c.result END AS result,
       octet_length(c.result::text) > 16384 AS result_omitted
FROM job_completed c
WHERE c.workspace_id = $1
  AND ($2::text IS NULL OR ($2 = 'failed' AND c.status <> 'success') OR c.status = $2)
  AND ($3::text IS NULL OR c.script_path = $3)
  AND ($4::text IS NULL OR starts_with(c.script_path, $4))
  AND ($5::text IS NULL OR c.tag = $5)
  AND ($6::timestamptz IS NULL OR c.completed_at >= $6)
  AND ($7::timestamptz IS NULL OR c.completed_at < $7)
  AND ($8::timestamptz IS NULL OR (c.completed_at, c.job_id) < ($8, $9::uuid))
ORDER BY c.completed_at DESC, c.job_id DESC
LIMIT $10::integer

-- name: queue_count
-- Params: workspace_id.
SELECT count(*) FILTER (WHERE state = 'queued') AS queued,
       count(*) FILTER (WHERE state = 'running') AS running
FROM job_queue WHERE workspace_id = $1

-- name: job_update
-- Status and new log text of a job (jobs_u/getupdate, get_logs). Params:
-- job_id, workspace_id, from_offset (bytes), max_chunks. `first_offset` is
-- where `logs` starts (at or before from_offset: whole chunks).
SELECT COALESCE(q.state, c.status) AS state, c.status IS NOT NULL AS completed,
       q.started_at, c.completed_at, c.result, COALESCE(q.log_bytes, c.log_bytes, 0) AS log_bytes,
       l.first_offset, l.logs
FROM job j
LEFT JOIN job_queue q ON q.job_id = j.id
LEFT JOIN LATERAL (
  SELECT status, completed_at, result, log_bytes FROM job_completed
  WHERE job_id = j.id AND completed_at >= j.created_at
  ORDER BY completed_at DESC LIMIT 1
) c ON true
LEFT JOIN LATERAL (
  SELECT min(t.log_offset) AS first_offset, string_agg(t.chunk, '' ORDER BY t.log_offset) AS logs
  FROM (SELECT log_offset, chunk FROM job_log
        WHERE job_id = j.id AND job_created_at = j.created_at
          AND log_offset + octet_length(chunk) > $3::bigint
        ORDER BY log_offset LIMIT $4::integer) t
) l ON true
WHERE j.id = $1::uuid AND j.workspace_id = $2

-- Statements of flows: definitions (flows/* routes) and the runtime status
-- of flow runs (the flow engine, actors/flow/).

-- name: create_flow
-- A new version of a path. Params: workspace_id, path, summary, description,
-- value (jsonb), schema (jsonb or NULL), subflows (a jsonb array of paths),
-- created_by. Returns the new version id and the one it replaced (NULL: the
-- path is new).
WITH prev AS (
  SELECT version_id FROM flow WHERE workspace_id = $1 AND path = $2
), v AS (
  INSERT INTO flow_version (workspace_id, path, summary, description, value, schema, subflows,
                            created_by)
  VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb,
          ARRAY(SELECT jsonb_array_elements_text($7::jsonb)), $8)
  RETURNING id, created_at
), f AS (
  INSERT INTO flow (workspace_id, path, version_id)
  SELECT $1, $2, id FROM v
  ON CONFLICT (workspace_id, path)
    DO UPDATE SET version_id = EXCLUDED.version_id, archived = false, updated_at = now()
  RETURNING version_id, created_at, updated_at
)
SELECT f.version_id, f.created_at, f.updated_at, (SELECT version_id FROM prev) AS previous_version
FROM f

-- name: flow_by_path
-- Params: workspace_id, path.
SELECT f.path, f.version_id, f.archived, v.summary, v.description, v.value, v.schema,
       v.created_by, v.created_at, f.updated_at
FROM flow f
JOIN flow_version v ON v.workspace_id = f.workspace_id AND v.id = f.version_id
WHERE f.workspace_id = $1 AND f.path = $2

-- name: flow_by_version
-- Params: workspace_id, version id.
SELECT v.path, v.id AS version_id, v.summary, v.description, v.value, v.schema, v.created_by,
       v.created_at
FROM flow_version v
WHERE v.workspace_id = $1 AND v.id = $2::bigint

-- name: flows_list
-- Params: workspace_id, path_start (NULL: any), include_archived, after_path
-- (keyset, NULL: from the start), limit.
SELECT f.path, f.version_id, f.archived, v.summary, v.description, v.created_by, f.created_at,
       f.updated_at
FROM flow f
JOIN flow_version v ON v.workspace_id = f.workspace_id AND v.id = f.version_id
WHERE f.workspace_id = $1
  AND ($2::text IS NULL OR starts_with(f.path, $2))
  AND ($3::boolean OR NOT f.archived)
  AND ($4::text IS NULL OR f.path > $4)
ORDER BY f.path
LIMIT $5::integer

-- name: flow_history
-- Params: workspace_id, path.
SELECT id AS version_id, summary, created_by, created_at
FROM flow_version
WHERE workspace_id = $1 AND path = $2
ORDER BY id DESC
LIMIT 1000

-- name: archive_flow
-- Params: workspace_id, path.
UPDATE flow SET archived = true, updated_at = now()
WHERE workspace_id = $1 AND path = $2
RETURNING path, version_id

-- name: flow_cycle
-- Would saving `path` with these subflows make a flow call itself? Walks the
-- current versions' subflow lists from the new subflows and returns the first
-- trail that comes back to `path` (empty: no cycle). Params: workspace_id,
-- path, subflows (a jsonb array of paths).
WITH RECURSIVE walk(path, trail) AS (
  SELECT s, ARRAY[$2::text, s]
  FROM jsonb_array_elements_text($3::jsonb) AS s
  UNION ALL
  SELECT sub, w.trail || sub
  FROM walk w
  JOIN flow f ON f.workspace_id = $1 AND f.path = w.path
  JOIN flow_version v ON v.workspace_id = f.workspace_id AND v.id = f.version_id
  CROSS JOIN LATERAL unnest(v.subflows) AS sub
  WHERE w.path <> $2 AND cardinality(w.trail) < 64 AND NOT (sub = ANY (w.trail[2:]))
)
SELECT array_to_string(trail, ' -> ') AS cycle FROM walk WHERE path = $2 LIMIT 1

-- name: set_flow_status
-- The flow engine records a transition (fenced on the run's attempt).
-- Params: job_id, attempt, lease_owner, flow_status (jsonb).
UPDATE job_queue SET flow_status = $4::jsonb
WHERE job_id = $1::uuid AND attempt = $2::integer AND lease_owner = $3 AND state = 'running'
RETURNING job_id

-- name: flow_status_of
-- The last recorded status of a running flow (resume after a restart).
-- Params: job_id.
SELECT flow_status FROM job_queue WHERE job_id = $1::uuid

-- name: flow_refs_missing
-- Which references of a flow being saved do not exist (or are archived).
-- Params: workspace_id, script paths, script hashes, flow paths (each a jsonb
-- array). Returns (kind, ref) per missing one: kind is script_path,
-- script_hash or flow_path.
SELECT 'script_path' AS kind, p AS ref FROM jsonb_array_elements_text($2::jsonb) AS p
WHERE NOT EXISTS (SELECT 1 FROM script s WHERE s.workspace_id = $1 AND s.path = p AND NOT s.archived)
UNION ALL
SELECT 'script_hash', h FROM jsonb_array_elements_text($3::jsonb) AS h
WHERE NOT EXISTS (SELECT 1 FROM script_version v WHERE v.workspace_id = $1 AND v.hash = h)
UNION ALL
SELECT 'flow_path', p FROM jsonb_array_elements_text($4::jsonb) AS p
WHERE NOT EXISTS (SELECT 1 FROM flow f WHERE f.workspace_id = $1 AND f.path = p AND NOT f.archived)

-- name: same_worker_node_of
-- The worker node a same_worker flow's steps were pinned to by an earlier
-- attempt (its step jobs carry it), if any. Params: the flow job's id.
SELECT worker_node FROM job
WHERE parent_job = $1::uuid AND worker_node IS NOT NULL
LIMIT 1

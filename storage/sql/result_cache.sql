-- Statements of cache_ttl: results of flows and flow steps kept for a while
-- (actors/flow/sequence_steps.cpp, actors/flow/flow_run.cpp).

-- name: cache_get
-- A result kept for cache_ttl, if it has not expired. Params: workspace_id,
-- what (the text that identifies the run; hashed here).
SELECT result FROM result_cache
WHERE workspace_id = $1 AND key = encode(sha256(convert_to($2, 'UTF8')), 'hex')
  AND expires_at > now()

-- name: cache_put
-- idempotent: yes
-- Keeps a result for ttl seconds (a newer result replaces an older one).
-- Params: workspace_id, what, result (jsonb), ttl_s.
INSERT INTO result_cache (workspace_id, key, result, expires_at)
VALUES ($1, encode(sha256(convert_to($2, 'UTF8')), 'hex'), $3::jsonb,
        now() + make_interval(secs => $4::integer))
ON CONFLICT (workspace_id, key) DO UPDATE
  SET result = EXCLUDED.result, created_at = now(), expires_at = EXCLUDED.expires_at

-- name: cache_drop_expired
-- idempotent: yes
-- Retention: cached results past their expiry. Returns how many went.
WITH d AS (DELETE FROM result_cache WHERE expires_at <= now() RETURNING 1)
SELECT count(*) AS dropped FROM d

-- The HTTP API: job listing by workspace, newest first (jobs/list), and the
-- server's own secrets (the key that signs pagination cursors).

-- jobs/list: a workspace's jobs by creation time, keyset on (created_at, id).
CREATE INDEX job_by_ws_created ON job (workspace_id, created_at DESC, id DESC);

-- jobs/completed/list filtered by status: failures are rare and looked for.
CREATE INDEX job_completed_failed ON job_completed (workspace_id, completed_at DESC, job_id DESC)
  WHERE status <> 'success';

-- Scripts by language and archived flag are filtered after the path prefix
-- scan of the primary key; no extra index.

CREATE TABLE server_secret (
  name        text PRIMARY KEY,
  value       bytea NOT NULL CHECK (octet_length(value) >= 32),
  created_at  timestamptz NOT NULL DEFAULT now()
);

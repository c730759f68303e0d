-- Schema v5: results kept for `cache_ttl` (flows and flow steps). A row is
-- keyed by the SHA-256 of what was run (kind, code or version, args); it
-- counts until expires_at.

CREATE TABLE result_cache (
  workspace_id text NOT NULL,
  key          text NOT NULL CHECK (key ~ '^[0-9a-f]{64}$'),
  result       jsonb NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL,
  PRIMARY KEY (workspace_id, key)
);

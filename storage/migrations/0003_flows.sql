-- Schema v3: flows. Definitions by path with immutable versions (as scripts),
-- and the runtime status of a flow run (Windmill's FlowStatus) on its job's
-- live queue row, carried over to the completed row when the run ends.

CREATE TABLE flow_version (
  workspace_id text NOT NULL REFERENCES workspace (id),
  id           bigint GENERATED ALWAYS AS IDENTITY,
  path         text NOT NULL,
  summary      text NOT NULL DEFAULT '',
  description  text NOT NULL DEFAULT '',
  value        jsonb NOT NULL,              -- the OpenFlow `value` (modules, failure_module, ...)
  schema       jsonb,
  subflows     text[] NOT NULL DEFAULT '{}', -- paths of the flows its `flow` modules call (cycle checks)
  created_by   text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (workspace_id, id)
);
-- flows/history/p/{path}: versions of one path, newest first.
CREATE INDEX flow_version_by_path ON flow_version (workspace_id, path, id DESC);

CREATE TABLE flow (
  workspace_id text NOT NULL REFERENCES workspace (id),
  path         text NOT NULL,
  version_id   bigint NOT NULL,
  archived     boolean NOT NULL DEFAULT false,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (workspace_id, path),         -- flows/get/{path}, jobs/run/f/{path}, flows/list
  FOREIGN KEY (workspace_id, version_id) REFERENCES flow_version (workspace_id, id)
);

ALTER TABLE job_queue ADD COLUMN flow_status jsonb;
ALTER TABLE job_completed ADD COLUMN flow_status jsonb;

-- Schema v1: workspaces, scripts, jobs (definition, live queue, completed,
-- logs, events) and API tokens. Applied by storage/migrations.cpp inside one
-- transaction under an advisory lock.
--
-- Sizing: built for millions of completed jobs. Everything that grows with the
-- number of jobs run (completed rows, logs, events) lives in daily partitions,
-- so retention drops whole partitions. The live queue holds only queued and
-- running rows. Every index below names the query that needs it; an index that
-- no query needs costs about 2 microseconds per inserted row on this class of
-- machine, so there are none "just in case".

-- ---------------------------------------------------------------------------
-- Workspaces. Every object belongs to one. `admins` exists from the start, as
-- in Windmill.
CREATE TABLE workspace (
  id          text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9_-]{0,49}$'),
  name        text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  archived    boolean NOT NULL DEFAULT false
);
INSERT INTO workspace (id, name) VALUES ('admins', 'Admins');

-- ---------------------------------------------------------------------------
-- Scripts: a path points at its current version; versions are immutable and
-- keyed by a content hash (16 hex digits, as Windmill shows them).
CREATE TABLE script_version (
  workspace_id text NOT NULL REFERENCES workspace (id),
  hash         text NOT NULL CHECK (hash ~ '^[0-9a-f]{16}$'),
  path         text NOT NULL,
  language     text NOT NULL,
  content      text NOT NULL,
  schema       jsonb NOT NULL,
  summary      text NOT NULL DEFAULT '',
  description  text NOT NULL DEFAULT '',
  parent_hash  text,
  created_by   text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (workspace_id, hash)          -- scripts/get/h/{hash}, jobs/run/h/{hash}
);
-- scripts/history/p/{path}: versions of one path, newest first.
CREATE INDEX script_version_by_path ON script_version (workspace_id, path, created_at DESC);

CREATE TABLE script (
  workspace_id text NOT NULL REFERENCES workspace (id),
  path         text NOT NULL,
  hash         text NOT NULL,
  archived     boolean NOT NULL DEFAULT false,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (workspace_id, path),         -- scripts/get/p/{path}, jobs/run/p/{path}, scripts/list (prefix scans)
  FOREIGN KEY (workspace_id, hash) REFERENCES script_version (workspace_id, hash)
);

-- ---------------------------------------------------------------------------
-- Jobs: the immutable definition of every job ever submitted. Written once at
-- submission, never updated.
CREATE TABLE job (
  id              uuid PRIMARY KEY,         -- jobs_u/get/{id}; ids are UUIDv7, so inserts append to the index
  workspace_id    text NOT NULL,
  kind            text NOT NULL CHECK (kind IN ('script', 'preview', 'identity', 'noop', 'flow', 'flowpreview')),
  script_path     text,
  script_hash     text,
  raw_code        text,
  language        text,
  args            jsonb NOT NULL DEFAULT '{}'::jsonb,
  tag             text NOT NULL,
  priority        smallint NOT NULL DEFAULT 0,
  timeout_s       integer CHECK (timeout_s IS NULL OR timeout_s > 0),
  scheduled_for   timestamptz,
  parent_job      uuid,
  root_job        uuid,
  created_by      text NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  idempotency_key text,
  request_hash    text                      -- digest of the request that carried idempotency_key
);
-- Idempotency-Key replay: the job a key already produced in a workspace.
CREATE UNIQUE INDEX job_idempotency ON job (workspace_id, idempotency_key)
  WHERE idempotency_key IS NOT NULL;
-- Flows: the step jobs of a flow run (parent_job = the flow job).
CREATE INDEX job_by_parent ON job (parent_job) WHERE parent_job IS NOT NULL;

-- ---------------------------------------------------------------------------
-- The live queue: one row per queued or running job, deleted when the job
-- completes. The dispatcher keeps runnable jobs in memory and never polls this
-- table; it reads it whole at start-up (recovery), which is cheap because only
-- live rows are here. Hence no index but the primary key.
CREATE TABLE job_queue (
  job_id              uuid PRIMARY KEY,     -- every fenced write (claim, renew, log, complete) by id
  workspace_id        text NOT NULL,
  tag                 text NOT NULL,
  priority            smallint NOT NULL,
  scheduled_for       timestamptz NOT NULL,
  created_at          timestamptz NOT NULL,
  state               text NOT NULL CHECK (state IN ('queued', 'running')),
  attempt             integer NOT NULL DEFAULT 0,   -- 0 while never claimed; n while attempt n runs
  restarts            integer NOT NULL DEFAULT 0,   -- attempts lost to dead owners (poison-job limit)
  lease_owner         text,
  lease_deadline      timestamptz,                  -- database clock
  started_at          timestamptz,
  log_bytes           bigint NOT NULL DEFAULT 0,    -- next log offset
  cancel_requested_at timestamptz,
  canceled_by         text,
  cancel_reason       text
) WITH (fillfactor = 70);  -- room for HOT updates on claim and lease renewal

-- ---------------------------------------------------------------------------
-- Completed jobs, partitioned by completion time. Retention drops partitions.
-- Exactly one row per job: the completing statement deletes the job's queue
-- row fenced on its attempt and inserts this row only if that delete matched.
CREATE TABLE job_completed (
  job_id          uuid NOT NULL,
  workspace_id    text NOT NULL,
  kind            text NOT NULL,
  script_path     text,
  tag             text NOT NULL,
  created_by      text NOT NULL,
  parent_job      uuid,
  status          text NOT NULL CHECK (status IN ('success', 'failure', 'canceled', 'timed_out')),
  result          jsonb,                    -- the value on success, the error object otherwise
  attempt         integer NOT NULL,
  restarts        integer NOT NULL DEFAULT 0,
  created_at      timestamptz NOT NULL,
  started_at      timestamptz,
  completed_at    timestamptz NOT NULL DEFAULT now(),
  duration_ms     bigint,
  log_bytes       bigint NOT NULL DEFAULT 0,
  canceled_by     text,
  cancel_reason   text
) PARTITION BY RANGE (completed_at);
-- jobs_u/get/{id}, get_result: lookup by id, pruned with completed_at >= job.created_at.
CREATE INDEX job_completed_by_id ON job_completed (job_id);
-- jobs/completed/list: a workspace's jobs, newest first, keyset on (completed_at, job_id).
CREATE INDEX job_completed_by_ws ON job_completed (workspace_id, completed_at DESC, job_id DESC);
CREATE TABLE job_completed_default PARTITION OF job_completed DEFAULT;

-- ---------------------------------------------------------------------------
-- Job logs: append-only chunks, partitioned by the job's creation time so a
-- job's chunks share one partition and every lookup prunes to it.
CREATE TABLE job_log (
  job_id          uuid NOT NULL,
  job_created_at  timestamptz NOT NULL,
  attempt         integer NOT NULL,
  seq             integer NOT NULL,         -- chunk number within the attempt
  log_offset      bigint NOT NULL,          -- byte offset of this chunk in the job's whole log
  chunk           text NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now()
) PARTITION BY RANGE (job_created_at);
-- jobs_u/getupdate/{id}?log_offset=: chunks from an offset; the unique key also
-- makes a re-sent append a no-op (ON CONFLICT DO NOTHING).
CREATE UNIQUE INDEX job_log_chunk ON job_log (job_id, attempt, seq, job_created_at);
CREATE INDEX job_log_by_offset ON job_log (job_id, log_offset);
CREATE TABLE job_log_default PARTITION OF job_log DEFAULT;

-- ---------------------------------------------------------------------------
-- Job events: every state transition, with its attempt, on the database clock.
CREATE TABLE job_event (
  job_id          uuid NOT NULL,
  job_created_at  timestamptz NOT NULL,
  attempt         integer NOT NULL,
  kind            text NOT NULL,            -- queued, running, requeued, cancel_requested, success, failure, canceled, timed_out, poisoned
  at              timestamptz NOT NULL DEFAULT now(),
  detail          jsonb
) PARTITION BY RANGE (job_created_at);
-- A job's history, and idempotence of re-sent transitions (one event of a kind per attempt).
CREATE UNIQUE INDEX job_event_key ON job_event (job_id, attempt, kind, job_created_at);
CREATE TABLE job_event_default PARTITION OF job_event DEFAULT;

-- ---------------------------------------------------------------------------
-- API tokens, stored as SHA-256 digests; the plain token is shown once.
CREATE TABLE api_token (
  id            uuid PRIMARY KEY,           -- token list/revoke by id
  digest        bytea NOT NULL UNIQUE,      -- authentication: lookup by digest of the presented token
  prefix        text NOT NULL,              -- first characters, to recognise a token in lists
  label         text NOT NULL DEFAULT '',
  workspace_id  text REFERENCES workspace (id),   -- NULL: every workspace (admin tokens)
  role          text NOT NULL CHECK (role IN ('admin', 'user')),
  created_by    text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  expires_at    timestamptz,
  revoked_at    timestamptz,
  last_used_at  timestamptz
);

-- ---------------------------------------------------------------------------
-- Partition upkeep. millrace_ensure_partitions creates daily partitions from
-- yesterday up to `days_ahead` days ahead; the maintenance actor calls it at
-- start-up and every hour. The DEFAULT partitions only catch rows written while
-- upkeep was behind; a day whose rows already sit in a DEFAULT partition is
-- skipped (and reported) instead of failing.
CREATE FUNCTION millrace_ensure_partitions(days_ahead integer) RETURNS text[]
LANGUAGE plpgsql AS $$
DECLARE
  parent text;
  col text;
  d date;
  part text;
  created text[] := '{}';
  busy boolean;
BEGIN
  FOREACH parent IN ARRAY ARRAY['job_completed', 'job_log', 'job_event'] LOOP
    col := CASE parent WHEN 'job_completed' THEN 'completed_at' ELSE 'job_created_at' END;
    FOR d IN SELECT generate_series(current_date - 1, current_date + days_ahead, interval '1 day')::date LOOP
      part := parent || '_p' || to_char(d, 'YYYYMMDD');
      CONTINUE WHEN to_regclass(part) IS NOT NULL;
      EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE %I >= %L::date AND %I < %L::date)',
                     parent || '_default', col, d, col, d + 1) INTO busy;
      IF busy THEN
        created := created || ('skipped ' || part || ': rows in ' || parent || '_default');
        CONTINUE;
      END IF;
      EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                     part, parent, d::timestamptz, (d + 1)::timestamptz);
      created := created || part;
    END LOOP;
  END LOOP;
  RETURN created;
END $$;

-- Retention: drops the daily partitions that end before `cutoff` and deletes
-- the definitions of jobs completed before it. Partitions keyed by job creation
-- time are kept while any job created in their range is still live.
CREATE FUNCTION millrace_drop_partitions(cutoff timestamptz) RETURNS text[]
LANGUAGE plpgsql AS $$
DECLARE
  r record;
  upper_bound timestamptz;
  dropped text[] := '{}';
  live boolean;
BEGIN
  FOR r IN
    SELECT c.relname AS part, p.relname AS parent,
           pg_get_expr(c.relpartbound, c.oid) AS bound
    FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    JOIN pg_class p ON p.oid = i.inhparent
    WHERE p.relname IN ('job_completed', 'job_log', 'job_event')
      AND c.relname ~ '_p[0-9]{8}$'
  LOOP
    upper_bound := (to_date(right(r.part, 8), 'YYYYMMDD') + 1)::timestamptz;
    CONTINUE WHEN upper_bound > cutoff;
    IF r.parent <> 'job_completed' THEN
      SELECT EXISTS (SELECT 1 FROM job_queue WHERE created_at < upper_bound) INTO live;
      CONTINUE WHEN live;
    ELSE
      EXECUTE format('DELETE FROM job j USING %I c WHERE j.id = c.job_id', r.part);
    END IF;
    EXECUTE format('DROP TABLE %I', r.part);
    dropped := dropped || r.part::text;
  END LOOP;
  RETURN dropped;
END $$;

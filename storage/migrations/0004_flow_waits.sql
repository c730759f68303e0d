-- Schema v4: what flow runs wait for, durable across server restarts.
--
-- flow_timer: the deadline of each sleep and retry delay of a flow run, set
-- once (on the database clock) when the run first reaches it; a run resumed
-- after a crash waits only what is left.
--
-- flow_suspend: a step waiting for approvals (`suspend`): how many it needs,
-- until when, and who may give them. flow_resume: the resume and cancel
-- events it received, one per resume_id.

CREATE TABLE flow_timer (
  flow_job  uuid NOT NULL,
  key       text NOT NULL,                 -- the step's place in the flow, and which wait
  deadline  timestamptz NOT NULL,
  PRIMARY KEY (flow_job, key)
);

CREATE TABLE flow_suspend (
  step_job               uuid PRIMARY KEY, -- the job of the step whose result waits
  flow_job               uuid NOT NULL,
  workspace_id           text NOT NULL,
  module_id              text NOT NULL,
  required_events        integer NOT NULL CHECK (required_events BETWEEN 1 AND 100),
  deadline               timestamptz NOT NULL,
  self_approval_disabled boolean NOT NULL DEFAULT false,
  user_auth_required     boolean NOT NULL DEFAULT false,
  flow_created_by        text NOT NULL,
  created_at             timestamptz NOT NULL DEFAULT now(),
  -- NULL while waiting; then 'resumed', 'canceled' or 'timed_out'.
  resolution             text CHECK (resolution IN ('resumed', 'canceled', 'timed_out')),
  resolved_at            timestamptz
);
-- jobs/flow/resume/{id}: the step a flow waits on.
CREATE INDEX flow_suspend_by_flow ON flow_suspend (flow_job);

CREATE TABLE flow_resume (
  step_job    uuid NOT NULL REFERENCES flow_suspend (step_job) ON DELETE CASCADE,
  resume_id   bigint NOT NULL CHECK (resume_id >= 0),
  approver    text NOT NULL,
  payload     jsonb NOT NULL DEFAULT 'null'::jsonb,
  is_cancel   boolean NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (step_job, resume_id)
);

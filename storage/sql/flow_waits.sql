-- Statements of what flow runs wait for (actors/flow/timer.cpp,
-- actors/flow/suspend.cpp, api/service/endpoints/flows_resume.cpp): durable
-- timer deadlines, approval steps and their resume events.

-- name: flow_timer_start
-- idempotent: yes
-- Sets a wait's deadline the first time a run reaches it and keeps it after:
-- a resumed run waits only what is left. Params: flow_job, key, ms.
-- Returns the milliseconds left (0 when the deadline passed) and the deadline.
WITH ins AS (
  INSERT INTO flow_timer (flow_job, key, deadline)
  VALUES ($1::uuid, $2, now() + make_interval(secs => $3::bigint / 1000.0))
  ON CONFLICT (flow_job, key) DO NOTHING
  RETURNING deadline
), t AS (
  SELECT deadline FROM ins
  UNION ALL
  SELECT deadline FROM flow_timer WHERE flow_job = $1::uuid AND key = $2
)
SELECT GREATEST(0, ceil(extract(epoch FROM (deadline - now())) * 1000))::bigint AS left_ms,
       deadline
FROM t LIMIT 1

-- name: flow_timers_drop
-- idempotent: yes
-- A finished flow run's timers. Params: flow_job.
DELETE FROM flow_timer WHERE flow_job = $1::uuid

-- name: flow_suspend_start
-- idempotent: yes
-- A step starts (or, after a restart, resumes) waiting for approvals; the
-- first call fixes the deadline. Params: step_job, flow_job, workspace_id,
-- module_id, required_events, timeout_s, self_approval_disabled,
-- user_auth_required, flow_created_by. Returns the milliseconds left, the
-- deadline and the resolution so far (NULL: waiting).
WITH ins AS (
  INSERT INTO flow_suspend (step_job, flow_job, workspace_id, module_id, required_events, deadline,
                            self_approval_disabled, user_auth_required, flow_created_by)
  VALUES ($1::uuid, $2::uuid, $3, $4, $5::integer, now() + make_interval(secs => $6::integer),
          $7::boolean, $8::boolean, $9)
  ON CONFLICT (step_job) DO NOTHING
  RETURNING deadline, resolution
), s AS (
  SELECT deadline, resolution FROM ins
  UNION ALL
  SELECT deadline, resolution FROM flow_suspend WHERE step_job = $1::uuid
)
SELECT GREATEST(0, ceil(extract(epoch FROM (deadline - now())) * 1000))::bigint AS left_ms,
       deadline, resolution
FROM s LIMIT 1

-- name: flow_suspend_end
-- idempotent: yes
-- How the wait ended: resumed, canceled or timed_out (the first answer
-- stays). Params: step_job, resolution.
UPDATE flow_suspend SET resolution = $2, resolved_at = now()
WHERE step_job = $1::uuid AND resolution IS NULL
RETURNING step_job

-- name: flow_resumes_of
-- The events a waiting step received, oldest first. Params: step_job.
SELECT resume_id, approver, payload, is_cancel
FROM flow_resume WHERE step_job = $1::uuid
ORDER BY created_at, resume_id

-- name: flow_suspend_of
-- What the API checks before it takes a resume or cancel event: the waiting
-- step, its flow, and whether that flow still runs. Params: step_job,
-- workspace_id.
SELECT s.step_job, s.flow_job, s.module_id, s.required_events, s.deadline,
       s.deadline <= now() AS expired, s.resolution, s.self_approval_disabled,
       s.user_auth_required, s.flow_created_by,
       EXISTS (SELECT 1 FROM job_queue q WHERE q.job_id = s.flow_job) AS flow_running,
       (SELECT count(*) FROM flow_resume r WHERE r.step_job = s.step_job AND NOT r.is_cancel)
         AS approvals
FROM flow_suspend s
WHERE s.step_job = $1::uuid AND s.workspace_id = $2

-- name: flow_waiting_step
-- The step a flow waits on for approvals now (jobs/flow/resume/{id}), with
-- the flow's creator. Params: flow_job, workspace_id.
SELECT s.step_job
FROM flow_suspend s
WHERE s.flow_job = $1::uuid AND s.workspace_id = $2 AND s.resolution IS NULL
ORDER BY s.created_at DESC LIMIT 1

-- name: flow_resume_add
-- Records a resume or cancel event while the step waits. Params: step_job,
-- resume_id, approver, payload (jsonb), is_cancel. Returns a row when it was
-- recorded; none when the resume_id was used already or the wait is over.
INSERT INTO flow_resume (step_job, resume_id, approver, payload, is_cancel)
SELECT $1::uuid, $2::bigint, $3, $4::jsonb, $5::boolean
FROM flow_suspend s
WHERE s.step_job = $1::uuid AND s.resolution IS NULL AND s.deadline > now()
ON CONFLICT (step_job, resume_id) DO NOTHING
RETURNING resume_id

-- name: drop_flow_waits
-- idempotent: yes
-- Retention: timers of flow runs that ended, and approval records resolved
-- more than $1 days ago. Returns the rows deleted.
WITH t AS (
  DELETE FROM flow_timer t
  WHERE NOT EXISTS (SELECT 1 FROM job_queue q WHERE q.job_id = t.flow_job)
  RETURNING 1
), s AS (
  DELETE FROM flow_suspend
  WHERE resolved_at < now() - make_interval(days => $1::integer)
  RETURNING 1
)
SELECT (SELECT count(*) FROM t) + (SELECT count(*) FROM s) AS dropped

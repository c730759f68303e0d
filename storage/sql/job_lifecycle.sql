-- The life of a job after its submission (jobs.sql): claims, lease renewals,
-- log appends, completion, requeues and cancellation. See
-- storage/statements.hpp for the header format.
--
-- Fencing: every write a worker slot causes names the attempt and the lease
-- owner it belongs to, and the statement itself checks both against the live
-- queue row. A write from an older attempt (or from a lease owner that lost
-- the job) matches no row and changes nothing; its write returns no row, which
-- the caller reads as "fenced". Lease deadlines use now(), the database clock.
-- Timestamps of the job's creation (job_created_at) route event and log rows to
-- their partition.

-- name: claim_job
-- mode: bulk
-- match: ordinality
-- careful: claim_job_careful
-- Starts attempt n of queued jobs. Returns a row for each job claimed.
-- Params: job_id, attempt (the new one, = previous + 1), lease_owner,
--         lease_ms, job_created_at (NULL: read from the queue row)
-- (A job submitted to a slot that is already waiting is claimed by
-- enqueue_claimed_job in jobs.sql instead.)
WITH u AS (
  SELECT * FROM unnest($1::uuid[], $2::integer[], $3::text[], $4::integer[], $5::timestamptz[])
    WITH ORDINALITY AS t(job_id, attempt, owner, lease_ms, job_created_at, i)
), upd AS (
  UPDATE job_queue q
  SET state = 'running', attempt = u.attempt, lease_owner = u.owner,
      lease_deadline = now() + u.lease_ms * interval '1 millisecond', started_at = now()
  FROM u
  WHERE q.job_id = u.job_id AND q.state = 'queued' AND q.attempt = u.attempt - 1
  RETURNING u.i, u.job_id, u.attempt, u.owner, COALESCE(u.job_created_at, q.created_at) AS job_created_at
), ev AS (
  INSERT INTO job_event (job_id, job_created_at, attempt, kind, detail)
  SELECT job_id, job_created_at, attempt, 'running', jsonb_build_object('owner', owner) FROM upd
)
SELECT i FROM upd

-- name: claim_job_careful
-- mode: bulk
-- match: ordinality
-- claim_job for re-sends: a job already claimed by this very attempt and
-- owner counts as claimed.
WITH u AS (
  SELECT * FROM unnest($1::uuid[], $2::integer[], $3::text[], $4::integer[], $5::timestamptz[])
    WITH ORDINALITY AS t(job_id, attempt, owner, lease_ms, job_created_at, i)
), upd AS (
  UPDATE job_queue q
  SET state = 'running', attempt = u.attempt, lease_owner = u.owner,
      lease_deadline = now() + u.lease_ms * interval '1 millisecond', started_at = now()
  FROM u
  WHERE q.job_id = u.job_id AND q.state = 'queued' AND q.attempt = u.attempt - 1
  RETURNING u.i, u.job_id, u.attempt, u.owner, COALESCE(u.job_created_at, q.created_at) AS job_created_at
), ev AS (
  INSERT INTO job_event (job_id, job_created_at, attempt, kind, detail)
  SELECT job_id, job_created_at, attempt, 'running', jsonb_build_object('owner', owner) FROM upd
  ON CONFLICT DO NOTHING
)
SELECT i FROM upd
UNION ALL
SELECT u.i FROM u JOIN job_queue q ON q.job_id = u.job_id
WHERE q.state = 'running' AND q.attempt = u.attempt AND q.lease_owner = u.owner

-- name: renew_lease
-- mode: bulk
-- match: ordinality
-- idempotent: yes
-- Extends the leases of running attempts. Returns (i, cancel_requested) for
-- each lease that is still current; no row: the attempt lost the job.
-- Params: job_id, attempt, lease_owner, lease_ms
WITH u AS (
  SELECT * FROM unnest($1::uuid[], $2::integer[], $3::text[], $4::integer[])
    WITH ORDINALITY AS t(job_id, attempt, owner, lease_ms, i)
)
UPDATE job_queue q
SET lease_deadline = now() + u.lease_ms * interval '1 millisecond'
FROM u
WHERE q.job_id = u.job_id AND q.attempt = u.attempt AND q.lease_owner = u.owner
  AND q.state = 'running'
RETURNING u.i, q.cancel_requested_at IS NOT NULL AS cancel_requested

-- name: append_log
-- mode: bulk
-- match: ordinality
-- careful: append_log_careful
-- Appends one chunk per write to the log of a running attempt; the chunk's
-- byte offset in the job's whole log is assigned here. One write per job per
-- statement (the writer keeps writes with one key in separate statements).
-- Returns a row for each chunk stored.
-- Params: job_id, attempt, lease_owner, seq, chunk, job_created_at
WITH u AS (
  SELECT * FROM unnest($1::uuid[], $2::integer[], $3::text[], $4::integer[], $5::text[],
                       $6::timestamptz[])
    WITH ORDINALITY AS t(job_id, attempt, owner, seq, chunk, job_created_at, i)
), q AS (
  UPDATE job_queue q
  SET log_bytes = q.log_bytes + octet_length(u.chunk)
  FROM u
  WHERE q.job_id = u.job_id AND q.attempt = u.attempt AND q.lease_owner = u.owner
    AND q.state = 'running'
  RETURNING u.i, u.job_id, u.job_created_at, u.attempt, u.seq, u.chunk,
            q.log_bytes - octet_length(u.chunk) AS log_offset
), ins AS (
  INSERT INTO job_log (job_id, job_created_at, attempt, seq, log_offset, chunk)
  SELECT job_id, job_created_at, attempt, seq, log_offset, chunk FROM q
)
SELECT i FROM q

-- name: append_log_careful
-- mode: bulk
-- match: ordinality
-- append_log for re-sends: a chunk already stored (same job, attempt and
-- seq) is not appended again, and counts as stored.
WITH u0 AS (
  SELECT * FROM unnest($1::uuid[], $2::integer[], $3::text[], $4::integer[], $5::text[],
                       $6::timestamptz[])
    WITH ORDINALITY AS t(job_id, attempt, owner, seq, chunk, job_created_at, i)
), done AS (
  SELECT u0.i FROM u0 JOIN job_log l
    ON l.job_id = u0.job_id AND l.attempt = u0.attempt AND l.seq = u0.seq
   AND l.job_created_at = u0.job_created_at
), u AS (
  SELECT * FROM u0 WHERE u0.i NOT IN (SELECT i FROM done)
), q AS (
  UPDATE job_queue q
  SET log_bytes = q.log_bytes + octet_length(u.chunk)
  FROM u
  WHERE q.job_id = u.job_id AND q.attempt = u.attempt AND q.lease_owner = u.owner
    AND q.state = 'running'
  RETURNING u.i, u.job_id, u.job_created_at, u.attempt, u.seq, u.chunk,
            q.log_bytes - octet_length(u.chunk) AS log_offset
), ins AS (
  INSERT INTO job_log (job_id, job_created_at, attempt, seq, log_offset, chunk)
  SELECT job_id, job_created_at, attempt, seq, log_offset, chunk FROM q
  ON CONFLICT DO NOTHING
)
SELECT i FROM q UNION ALL SELECT i FROM done

-- name: complete_job
-- mode: bulk
-- match: ordinality
-- careful: complete_job_careful
-- Records the terminal state of attempts: the live queue row goes (fenced on
-- attempt and owner), the completed row and the terminal event come. A job
-- can be completed once only: its queue row can be deleted once only.
-- Returns (i, completed_at) for each completion recorded.
-- Params: job_id, attempt, lease_owner, status, result (jsonb),
--         job_created_at, kind, script_path, created_by, parent_job,
--         flow_status (jsonb, flow runs: the final FlowStatus; NULL keeps the
--         last recorded one)
WITH u AS (
  SELECT * FROM unnest($1::uuid[], $2::integer[], $3::text[], $4::text[], $5::jsonb[],
                       $6::timestamptz[], $7::text[], $8::text[], $9::text[], $10::uuid[],
                       $11::jsonb[])
    WITH ORDINALITY AS t(job_id, attempt, owner, status, result, job_created_at, kind,
                         script_path, created_by, parent_job, final_flow_status, i)
), d AS (
  DELETE FROM job_queue q USING u
  WHERE q.job_id = u.job_id AND q.attempt = u.attempt AND q.lease_owner = u.owner
    AND q.state = 'running'
  RETURNING u.*, q.workspace_id, q.tag, q.restarts, q.created_at, q.started_at, q.log_bytes,
            q.canceled_by, q.cancel_reason,
            COALESCE(u.final_flow_status, q.flow_status) AS flow_status
), c AS (
  INSERT INTO job_completed (job_id, workspace_id, kind, script_path, tag, created_by,
                             parent_job, status, result, attempt, restarts, created_at,
                             started_at, completed_at, duration_ms, log_bytes, canceled_by,
                             cancel_reason, flow_status)
  SELECT job_id, workspace_id, kind, script_path, tag, created_by, parent_job, status, result,
         attempt, restarts, created_at, started_at, now(),
         (extract(epoch FROM now() - started_at) * 1000)::bigint, log_bytes, canceled_by,
         cancel_reason, flow_status
  FROM d
), ev AS (
  INSERT INTO job_event (job_id, job_created_at, attempt, kind)
  SELECT job_id, job_created_at, attempt, status FROM d
)
SELECT i, now() AS completed_at FROM d

-- name: complete_job_careful
-- mode: bulk
-- match: ordinality
-- complete_job for re-sends: an attempt already completed counts as recorded.
WITH u AS (
  SELECT * FROM unnest($1::uuid[], $2::integer[], $3::text[], $4::text[], $5::jsonb[],
                       $6::timestamptz[], $7::text[], $8::text[], $9::text[], $10::uuid[],
                       $11::jsonb[])
    WITH ORDINALITY AS t(job_id, attempt, owner, status, result, job_created_at, kind,
                         script_path, created_by, parent_job, final_flow_status, i)
), d AS (
  DELETE FROM job_queue q USING u
  WHERE q.job_id = u.job_id AND q.attempt = u.attempt AND q.lease_owner = u.owner
    AND q.state = 'running'
  RETURNING u.*, q.workspace_id, q.tag, q.restarts, q.created_at, q.started_at, q.log_bytes,
            q.canceled_by, q.cancel_reason,
            COALESCE(u.final_flow_status, q.flow_status) AS flow_status
), c AS (
  INSERT INTO job_completed (job_id, workspace_id, kind, script_path, tag, created_by,
                             parent_job, status, result, attempt, restarts, created_at,
                             started_at, completed_at, duration_ms, log_bytes, canceled_by,
                             cancel_reason, flow_status)
  SELECT job_id, workspace_id, kind, script_path, tag, created_by, parent_job, status, result,
         attempt, restarts, created_at, started_at, now(),
         (extract(epoch FROM now() - started_at) * 1000)::bigint, log_bytes, canceled_by,
         cancel_reason, flow_status
  FROM d
), ev AS (
  INSERT INTO job_event (job_id, job_created_at, attempt, kind)
  SELECT job_id, job_created_at, attempt, status FROM d
  ON CONFLICT DO NOTHING
)
SELECT i, now() AS completed_at FROM d
UNION ALL
SELECT u.i, c.completed_at FROM u JOIN job_completed c
  ON c.job_id = u.job_id AND c.attempt = u.attempt AND c.completed_at >= u.job_created_at

-- name: requeue_job
-- mode: bulk
-- match: ordinality
-- careful: requeue_job_careful
-- Gives a running attempt's job back to the queue: its worker slot died, its
-- lease expired, or it was found running at start-up. When `if_expired` is
-- set, only if the lease deadline has passed on the database clock. The next
-- claim starts attempt n+1; any late write of attempt n is fenced.
-- Returns (i, restarts) for each job requeued.
-- Params: job_id, attempt, lease_owner, reason, job_created_at, if_expired
WITH u AS (
  SELECT * FROM unnest($1::uuid[], $2::integer[], $3::text[], $4::text[], $5::timestamptz[],
                       $6::boolean[])
    WITH ORDINALITY AS t(job_id, attempt, owner, reason, job_created_at, if_expired, i)
), upd AS (
  UPDATE job_queue q
  SET state = 'queued', lease_owner = NULL, lease_deadline = NULL, started_at = NULL,
      restarts = q.restarts + 1
  FROM u
  WHERE q.job_id = u.job_id AND q.attempt = u.attempt AND q.lease_owner = u.owner
    AND q.state = 'running' AND (NOT u.if_expired OR q.lease_deadline < now())
  RETURNING u.i, u.job_id, u.job_created_at, u.attempt, u.reason, q.restarts
), ev AS (
  INSERT INTO job_event (job_id, job_created_at, attempt, kind, detail)
  SELECT job_id, job_created_at, attempt, 'requeued', jsonb_build_object('reason', reason)
  FROM upd
)
SELECT i, restarts FROM upd

-- name: requeue_job_careful
-- mode: bulk
-- match: ordinality
-- requeue_job for re-sends: a job already back in the queue after this
-- attempt counts as requeued.
WITH u AS (
  SELECT * FROM unnest($1::uuid[], $2::integer[], $3::text[], $4::text[], $5::timestamptz[],
                       $6::boolean[])
    WITH ORDINALITY AS t(job_id, attempt, owner, reason, job_created_at, if_expired, i)
), upd AS (
  UPDATE job_queue q
  SET state = 'queued', lease_owner = NULL, lease_deadline = NULL, started_at = NULL,
      restarts = q.restarts + 1
  FROM u
  WHERE q.job_id = u.job_id AND q.attempt = u.attempt AND q.lease_owner = u.owner
    AND q.state = 'running' AND (NOT u.if_expired OR q.lease_deadline < now())
  RETURNING u.i, u.job_id, u.job_created_at, u.attempt, u.reason, q.restarts
), ev AS (
  INSERT INTO job_event (job_id, job_created_at, attempt, kind, detail)
  SELECT job_id, job_created_at, attempt, 'requeued', jsonb_build_object('reason', reason)
  FROM upd
  ON CONFLICT DO NOTHING
)
SELECT i, restarts FROM upd
UNION ALL
SELECT u.i, q.restarts FROM u JOIN job_queue q ON q.job_id = u.job_id
WHERE q.state = 'queued' AND q.attempt = u.attempt

-- name: cancel_queued
-- mode: bulk
-- match: ordinality
-- idempotent: yes
-- Cancels jobs that are still queued: the queue row goes, a completed row
-- with status canceled comes. Returns (i, completed_at) for each job canceled;
-- a re-send finds the completed row and returns it too.
-- Params: job_id, canceled_by, reason, job_created_at, kind, script_path,
--         created_by, parent_job
WITH u AS (
  SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[], $5::text[],
                       $6::text[], $7::text[], $8::uuid[])
    WITH ORDINALITY AS t(job_id, canceled_by, reason, job_created_at, kind, script_path,
                         created_by, parent_job, i)
), d AS (
  DELETE FROM job_queue q USING u
  WHERE q.job_id = u.job_id AND q.state = 'queued'
  RETURNING u.*, q.workspace_id, q.tag, q.attempt, q.restarts, q.created_at
), c AS (
  INSERT INTO job_completed (job_id, workspace_id, kind, script_path, tag, created_by,
                             parent_job, status, result, attempt, restarts, created_at,
                             completed_at, canceled_by, cancel_reason)
  SELECT job_id, workspace_id, kind, script_path, tag, created_by, parent_job, 'canceled',
         jsonb_build_object('name', 'Canceled', 'message',
                            'canceled by ' || canceled_by
                              || CASE WHEN reason <> '' THEN ': ' || reason ELSE '' END),
         attempt, restarts, created_at, now(), canceled_by, reason
  FROM d
), ev AS (
  INSERT INTO job_event (job_id, job_created_at, attempt, kind, detail)
  SELECT job_id, job_created_at, attempt, 'canceled',
         jsonb_build_object('by', canceled_by, 'reason', reason)
  FROM d
  ON CONFLICT DO NOTHING
)
SELECT i, now() AS completed_at FROM d
UNION ALL
SELECT u.i, c.completed_at FROM u JOIN job_completed c
  ON c.job_id = u.job_id AND c.status = 'canceled' AND c.completed_at >= u.job_created_at

-- name: request_cancel
-- mode: bulk
-- match: ordinality
-- idempotent: yes
-- Marks running attempts for cancellation (the worker slot runs the kill
-- ladder and completes them as canceled). A second request keeps the first
-- one's author and reason. Returns a row for each job marked.
-- Params: job_id, attempt, canceled_by, reason, job_created_at
WITH u AS (
  SELECT * FROM unnest($1::uuid[], $2::integer[], $3::text[], $4::text[], $5::timestamptz[])
    WITH ORDINALITY AS t(job_id, attempt, canceled_by, reason, job_created_at, i)
), upd AS (
  UPDATE job_queue q
  SET cancel_requested_at = COALESCE(q.cancel_requested_at, now()),
      canceled_by = COALESCE(q.canceled_by, u.canceled_by),
      cancel_reason = COALESCE(q.cancel_reason, u.reason)
  FROM u
  WHERE q.job_id = u.job_id AND q.state = 'running' AND q.attempt = u.attempt
  RETURNING u.i, u.job_id, u.job_created_at, u.attempt, u.canceled_by, u.reason
), ev AS (
  INSERT INTO job_event (job_id, job_created_at, attempt, kind, detail)
  SELECT job_id, job_created_at, attempt, 'cancel_requested',
         jsonb_build_object('by', canceled_by, 'reason', reason)
  FROM upd
  ON CONFLICT DO NOTHING
)
SELECT i FROM upd

-- name: recover_jobs
-- Start-up recovery: every live job with what is needed to run it.
SELECT q.job_id, q.workspace_id, q.tag, q.priority,
       (extract(epoch FROM q.scheduled_for) * 1000)::bigint AS scheduled_for_ms,
       q.created_at, q.state, q.attempt, q.restarts, q.lease_owner, q.cancel_requested_at IS NOT NULL AS cancel_requested,
       j.kind, j.script_path, j.script_hash, j.language, j.args, j.timeout_s, j.parent_job,
       j.root_job, j.created_by, j.worker_node,
       COALESCE(j.raw_code, v.content) AS code
FROM job_queue q
JOIN job j ON j.id = q.job_id
LEFT JOIN script_version v ON v.workspace_id = j.workspace_id AND v.hash = j.script_hash
ORDER BY q.created_at, q.job_id

-- name: job_status
-- The state of one job: queued/running from the live queue, or its terminal
-- status. Params: job_id.
SELECT j.id, j.workspace_id, j.created_at,
       COALESCE(q.state, c.status) AS state, COALESCE(q.attempt, c.attempt) AS attempt,
       c.result, c.completed_at
FROM job j
LEFT JOIN job_queue q ON q.job_id = j.id
LEFT JOIN LATERAL (
  SELECT status, attempt, result, completed_at FROM job_completed
  WHERE job_id = j.id AND completed_at >= j.created_at
  ORDER BY completed_at DESC LIMIT 1
) c ON true
WHERE j.id = $1::uuid

-- name: job_events
-- A job's history. Params: job_id. Events of one transaction share their
-- time; the state machine orders them.
SELECT e.attempt, e.kind, e.at, e.detail
FROM job j JOIN job_event e ON e.job_id = j.id AND e.job_created_at = j.created_at
WHERE j.id = $1::uuid
ORDER BY e.at, e.attempt,
         CASE e.kind WHEN 'queued' THEN 0 WHEN 'running' THEN 1 WHEN 'cancel_requested' THEN 2
                     WHEN 'requeued' THEN 3 ELSE 4 END

-- name: job_logs
-- A job's log from a byte offset. Params: job_id, from_offset.
SELECT l.log_offset, l.attempt, l.chunk
FROM job j JOIN job_log l ON l.job_id = j.id AND l.job_created_at = j.created_at
WHERE j.id = $1::uuid AND l.log_offset + octet_length(l.chunk) > $2::bigint
ORDER BY l.log_offset

-- Schema v6: `same_worker` flows. A step job of such a flow names the worker
-- node it must run on (it shares the flow's ./shared folder there with the
-- flow's other steps). NULL: any node.

ALTER TABLE job ADD COLUMN worker_node text
  CHECK (worker_node IS NULL OR worker_node ~ '^[A-Za-z0-9_.-]{1,64}$');

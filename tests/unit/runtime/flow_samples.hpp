// Sample OpenFlow definitions for flow_parse_test.cpp: one flow using every
// field Millrace maps, in JSON and in YAML.

#pragma once

namespace flow_samples {

// Written by hand from the field list of WINDMILL.md §2, with the extra
// fields a Windmill export carries (lock, is_trigger, assets, notes, ...).
inline const char* const full_json = R"({
  "summary": "Nightly report",
  "description": "Fetch, fan out, report",
  "value": {
    "modules": [
      {"id": "a", "summary": "fetch",
       "value": {"type": "rawscript", "content": "echo hi", "language": "bash", "lock": "",
                 "is_trigger": false, "assets": [], "tag": "bash",
                 "input_transforms": {"url": {"type": "static", "value": "https://x"},
                                      "n": {"type": "javascript", "expr": "flow_input.n"},
                                      "opts": {"type": "static", "value": {"k": [1, 2.5, null]}}}},
       "retry": {"constant": {"attempts": 2, "seconds": 5},
                 "exponential": {"attempts": 3, "multiplier": 2, "seconds": 1, "random_factor": 10},
                 "retry_if": {"expr": "error.retryable"}},
       "timeout": {"type": "static", "value": 60}, "cache_ttl": 300, "continue_on_error": true,
       "delete_after_use": false, "priority": 1},
      {"id": "b",
       "value": {"type": "script", "path": "f/lib/transform", "hash": "0123456789abcdef",
                 "tag_override": "python3",
                 "input_transforms": {"data": {"type": "javascript", "expr": "results.a"}}},
       "sleep": {"type": "static", "value": 5}, "skip_if": {"expr": "flow_input.skip"}},
      {"id": "c",
       "value": {"type": "branchone",
                 "branches": [{"summary": "big", "expr": "results.b.size > 10",
                               "modules": [{"id": "c1", "value": {"type": "identity"}}]}],
                 "default": [{"id": "c2", "value": {"type": "identity", "flow": false}}]}},
      {"id": "d",
       "value": {"type": "forloopflow", "iterator": {"type": "javascript", "expr": "results.b.items"},
                 "skip_failures": true, "parallel": true, "parallelism": 4,
                 "modules": [{"id": "d1",
                              "value": {"type": "flow", "path": "f/sub/each",
                                        "input_transforms": {"item": {"type": "javascript", "expr": "flow_input.iter.value"}}},
                              "stop_after_if": {"expr": "result.done", "skip_if_stopped": true,
                                                "error_message": "stopped"}}]},
       "stop_after_all_iters_if": {"expr": "results.d.length == 0"}},
      {"id": "e",
       "value": {"type": "forloopflow", "iterator": {"type": "static", "value": [1, 2, 3]},
                 "skip_failures": false, "parallel": true,
                 "parallelism": {"type": "javascript", "expr": "flow_input.width"}, "modules": []}},
      {"id": "f",
       "value": {"type": "whileloopflow", "skip_failures": false,
                 "modules": [{"id": "f1",
                              "value": {"type": "rawscript", "content": "print(1)\n", "language": "python3",
                                        "input_transforms": {}},
                              "stop_after_if": {"expr": "result > 3"}}]}},
      {"id": "g",
       "value": {"type": "branchall", "parallel": true,
                 "branches": [{"summary": "one", "skip_failure": true,
                               "modules": [{"id": "g1", "value": {"type": "identity"}}]},
                              {"modules": []}]}},
      {"id": "h", "value": {"type": "identity"},
       "suspend": {"required_events": 2, "timeout": 3600, "continue_on_disapprove_timeout": true,
                   "resume_form": {"schema": {}}, "user_auth_required": true},
       "mock": {"enabled": true, "return_value": {"ok": true}}},
      {"id": "i", "value": {"type": "identity"}, "mock": {"enabled": false, "return_value": 1}}
    ],
    "failure_module": {"id": "failure",
                       "value": {"type": "rawscript", "content": "echo failed", "language": "bash",
                                 "input_transforms": {"error": {"type": "javascript", "expr": "error"}}}},
    "preprocessor_module": {"id": "preprocessor",
                            "value": {"type": "rawscript", "content": "def main(x): return x",
                                      "language": "python3", "input_transforms": {}}},
    "same_worker": true, "early_return": "b", "skip_expr": "flow_input.off",
    "cache_ttl": 600, "priority": 3,
    "concurrent_limit": 2, "concurrency_time_window_s": 60,
    "notes": [{"id": "n1", "text": "x"}], "flow_env": {"A": "1"}
  },
  "schema": {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
             "properties": {"n": {"type": "integer"}}, "required": ["n"]}
})";

// The same flow in YAML, as `wmill` writes flow.yaml files.
inline const char* const full_yaml = R"(summary: Nightly report
description: 'Fetch, fan out, report'
value:
  modules:
    - id: a
      summary: fetch
      value:
        type: rawscript
        content: echo hi
        language: bash
        lock: ''
        is_trigger: false
        assets: []
        tag: bash
        input_transforms:
          url: {type: static, value: "https://x"}
          n:
            type: javascript
            expr: flow_input.n
          opts: {type: static, value: {k: [1, 2.5, ~]}}
      retry:
        constant: {attempts: 2, seconds: 5}
        exponential: {attempts: 3, multiplier: 2, seconds: 1, random_factor: 10}
        retry_if: {expr: error.retryable}
      timeout: {type: static, value: 60}
      cache_ttl: 300
      continue_on_error: true
      delete_after_use: false
      priority: 1
    - id: b
      value:
        type: script
        path: f/lib/transform
        hash: "0123456789abcdef"
        tag_override: python3
        input_transforms:
          data: {type: javascript, expr: results.a}
      sleep: {type: static, value: 5}
      skip_if: {expr: flow_input.skip}
    - id: c
      value:
        type: branchone
        branches:
          - summary: big
            expr: results.b.size > 10
            modules:
              - {id: c1, value: {type: identity}}
        default:
          - id: c2
            value: {type: identity, flow: false}
    - id: d
      value:
        type: forloopflow
        iterator: {type: javascript, expr: results.b.items}
        skip_failures: true
        parallel: true
        parallelism: 4
        modules:
          - id: d1
            value:
              type: flow
              path: f/sub/each
              input_transforms:
                item: {type: javascript, expr: flow_input.iter.value}
            stop_after_if:
              expr: result.done
              skip_if_stopped: true
              error_message: stopped
      stop_after_all_iters_if: {expr: results.d.length == 0}
    - id: e
      value:
        type: forloopflow
        iterator: {type: static, value: [1, 2, 3]}
        skip_failures: false
        parallel: true
        parallelism: {type: javascript, expr: flow_input.width}
        modules: []
    - id: f
      value:
        type: whileloopflow
        skip_failures: false
        modules:
          - id: f1
            value:
              type: rawscript
              content: |
                print(1)
              language: python3
              input_transforms: {}
            stop_after_if: {expr: result > 3}
    - id: g
      value:
        type: branchall
        parallel: true
        branches:
          - summary: one
            skip_failure: true
            modules: [{id: g1, value: {type: identity}}]
          - modules: []
    - id: h
      value: {type: identity}
      suspend:
        required_events: 2
        timeout: 3600
        continue_on_disapprove_timeout: true
        resume_form: {schema: {}}
        user_auth_required: true
      mock: {enabled: true, return_value: {ok: true}}
    - id: i
      value: {type: identity}
      mock: {enabled: false, return_value: 1}
  failure_module:
    id: failure
    value:
      type: rawscript
      content: echo failed
      language: bash
      input_transforms:
        error: {type: javascript, expr: error}
  preprocessor_module:
    id: preprocessor
    value:
      type: rawscript
      content: 'def main(x): return x'
      language: python3
      input_transforms: {}
  same_worker: true
  early_return: b
  skip_expr: flow_input.off
  cache_ttl: 600
  priority: 3
  concurrent_limit: 2
  concurrency_time_window_s: 60
  notes: [{id: n1, text: x}]
  flow_env: {A: "1"}
schema:
  $schema: https://json-schema.org/draft/2020-12/schema
  type: object
  properties:
    n: {type: integer}
  required: [n]
)";

} // namespace flow_samples

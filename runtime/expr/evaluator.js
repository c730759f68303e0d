// Millrace expression evaluator (runtime/expr/README.md).
//
// Reads newline-delimited JSON requests on stdin,
//   {"id":N,"expr":"...","scope":{...},"timeout_ms":M}
// and writes one line per request on stdout, in request order:
//   {"id":N,"ok":true,"value":<json>}   or   {"id":N,"ok":false,"error":"<message>"}
// Every evaluation runs in a fresh vm context holding only the JavaScript
// built-ins and the scope's top-level keys, parsed inside that context, so
// nothing one expression does is visible to the next. stdout carries the
// protocol and nothing else; the contexts have no console, require or process.
'use strict';

const vm = require('vm');
const readline = require('readline');

// Results longer than this (serialized) are refused rather than sent.
const MAX_RESULT_BYTES = 32 * 1024 * 1024;

// Installed into every fresh context before any user code runs, as
// non-writable, non-configurable globals: the user code cannot replace them.
// __millrace_out serializes a result with the context's own JSON.stringify
// (so toJSON methods and getters run under the time limit).
const PRELUDE = `(function (g) {
  'use strict';
  const stringify = JSON.stringify, parse = JSON.parse, P = Promise;
  const keys = Object.keys, define = Object.defineProperty;
  define(g, '__millrace_scope', { value: function (text) {
    const scope = parse(text);
    // A key naming a read-only global (undefined, NaN) keeps the global.
    for (const k of keys(scope)) try { g[k] = scope[k]; } catch (_) {}
  } });
  define(g, '__millrace_out', { value: function (v) {
    if (v instanceof P) throw new TypeError('it is a Promise (asynchronous expressions are not supported)');
    if (typeof v === 'bigint') throw new TypeError('it is a BigInt');
    const s = stringify(v);
    return s === undefined ? 'null' : s;
  } });
})(globalThis)`;
const preludeScript = new vm.Script(PRELUDE, { filename: 'millrace-prelude' });
const scopeScript = new vm.Script('__millrace_scope(__millrace_scope_text)');
const outScript = new vm.Script('__millrace_out(__millrace_value)');

class Timeout extends Error {}

function remaining(deadline) {
  const left = Math.ceil(deadline - performance.now());
  if (left <= 0) throw new Timeout();
  return left;
}

function compile(expr) {
  // An expression first: on lines of their own, the parentheses survive a
  // trailing // comment, and `{a: 1}` is an object literal, not a block.
  try {
    return new vm.Script('(\n' + expr + '\n)', { filename: 'expression' });
  } catch (e) {
    if (!(e instanceof SyntaxError)) throw e;
  }
  // Statements (`const a = 1; a + 1`): the completion value is the result.
  return new vm.Script(expr, { filename: 'expression' });
}

function run(script, context, deadline) {
  try {
    return script.runInContext(context, { timeout: remaining(deadline), breakOnSigint: false });
  } catch (e) {
    if (e && e.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') throw new Timeout();
    throw e;
  }
}

function evaluate(expr, scopeText, timeoutMs) {
  const deadline = performance.now() + timeoutMs;
  const script = compile(expr);
  const sandbox = Object.create(null);
  const context = vm.createContext(sandbox, {
    name: 'millrace-expression',
    codeGeneration: { strings: false, wasm: false },
    microtaskMode: 'afterEvaluate',
  });
  preludeScript.runInContext(context);
  sandbox.__millrace_scope_text = scopeText;
  run(scopeScript, context, deadline);
  delete sandbox.__millrace_scope_text;
  const value = run(script, context, deadline);
  Object.defineProperty(sandbox, '__millrace_value', { value, configurable: true });
  let text;
  try {
    text = run(outScript, context, deadline);
  } catch (e) {
    if (e instanceof Timeout) throw e;
    throw new TypeError('the result cannot be converted to JSON: ' + messageOf(e));
  }
  if (typeof text !== 'string') throw new TypeError('the result cannot be converted to JSON');
  if (text.length > MAX_RESULT_BYTES)
    throw new RangeError(`the result is too large (${text.length} bytes of JSON, limit ${MAX_RESULT_BYTES})`);
  return text;
}

// An error's message on one line.
function messageOf(e) {
  try {
    const m = e !== null && typeof e === 'object' ? e.message : e;
    return String(m).replace(/\s*\n\s*/g, ' ');
  } catch (_) {
    return 'unknown error';
  }
}

// A thrown value as "Name: message". Errors from the context are not
// instances of this realm's Error, so this looks at the shape only.
function describe(e) {
  try {
    if (e !== null && typeof e === 'object' && typeof e.message === 'string') {
      const name = typeof e.name === 'string' && e.name ? e.name : 'Error';
      return e.message ? `${name}: ${e.message}` : name;
    }
    return 'Uncaught ' + (typeof e === 'string' ? JSON.stringify(e) : String(e));
  } catch (_) {
    return 'Uncaught exception';
  }
}

function reply(obj, rawValue) {
  if (rawValue === undefined) {
    process.stdout.write(JSON.stringify(obj) + '\n');
  } else {
    process.stdout.write(`{"id":${obj.id},"ok":true,"value":${rawValue}}\n`);
  }
}

function handle(line) {
  if (line.trim() === '') return;
  let req;
  try {
    req = JSON.parse(line);
  } catch (e) {
    reply({ id: null, ok: false, error: 'malformed request: ' + e.message });
    return;
  }
  const id = Number.isSafeInteger(req.id) ? req.id : null;
  if (id === null || typeof req.expr !== 'string') {
    reply({ id, ok: false, error: 'malformed request: needs an integer "id" and a string "expr"' });
    return;
  }
  const scope = req.scope === undefined || req.scope === null ? {} : req.scope;
  if (typeof scope !== 'object' || Array.isArray(scope)) {
    reply({ id, ok: false, error: 'the scope must be a JSON object' });
    return;
  }
  const timeoutMs = Number.isFinite(req.timeout_ms) && req.timeout_ms > 0 ? req.timeout_ms : 1000;
  try {
    reply({ id }, evaluate(req.expr, JSON.stringify(scope), timeoutMs));
  } catch (e) {
    const error = e instanceof Timeout ? `expression timed out after ${timeoutMs} ms` : describe(e);
    reply({ id, ok: false, error });
  }
}

const input = readline.createInterface({ input: process.stdin, crlfDelay: Infinity, terminal: false });
input.on('line', handle);
input.on('close', () => process.exit(0));
process.stdout.on('error', () => process.exit(0));
process.stdout.write('{"ready":true}\n');

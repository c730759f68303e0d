-- wrk script for tests/bench/http_bench.sh: METHOD (GET or POST), BODY and
-- TOKEN come from the environment. Prints one RESULT line; answers with a
-- status of 400 or more count as errors (wrk's summary.errors.status).
wrk.method = os.getenv("METHOD") or "GET"
if wrk.method == "POST" then
  wrk.body = os.getenv("BODY") or "{}"
  wrk.headers["Content-Type"] = "application/json"
end
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("TOKEN") or "")

done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d seconds=%.2f non2xx=%d socket_errors=%d p50_us=%d p99_us=%d\n",
    summary.requests, summary.duration / 1e6, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end

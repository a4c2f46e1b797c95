-- wrk: POST a generation (greedy, up to the model's 60 tokens) per request, cycling through prompts; prints one RESULT line of JSON.
local texts = {"the ", "a ", "my ", "this ", "her ", "one ", "our ", "that "}
local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  i = i + 1
  return wrk.format(nil, "/v1/models/charlm/generate", nil, '{"prompt":"' .. texts[(i % #texts) + 1] .. '"}')
end
done = function(summary, latency, requests)
  io.write(string.format('RESULT {"requests":%d,"duration_us":%d,"non2xx":%d,"connect_errors":%d,"read_errors":%d,"write_errors":%d,"timeouts":%d,"p50_us":%d,"p99_us":%d,"p999_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9), latency.mean))
end

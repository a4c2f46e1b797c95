-- wrk: POST one request per call to the demo model named after "--" (seq2seq: a translation, charlm: a greedy
-- generation of up to the model's 60 tokens), cycling through inputs; prints one RESULT line of JSON at the end.
--   wrk -c8 -d20s -s scripts/lua/load.lua http://127.0.0.1:8080 -- seq2seq
local inputs = {
  seq2seq = {path = "/v1/models/seq2seq/translate", field = "text",
             values = {"3 March 2021", "17 June 1999", "1 January 2000", "29 February 2024", "12/12/1950", "Mar 3, 2021", "3.3.2021", "5 May 1955"}},
  charlm = {path = "/v1/models/charlm/generate", field = "prompt",
            values = {"the ", "a ", "my ", "this ", "her ", "one ", "our ", "that "}},
}
local model, i = nil, 0
init = function(args)
  model = inputs[args[1] or "seq2seq"]
  if model == nil then error("model: seq2seq or charlm, got " .. tostring(args[1])) end
end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  i = i + 1
  return wrk.format(nil, model.path, nil, '{"' .. model.field .. '":"' .. model.values[(i % #model.values) + 1] .. '"}')
end
done = function(summary, latency, requests)
  io.write(string.format('RESULT {"requests":%d,"duration_us":%d,"non2xx":%d,"connect_errors":%d,"read_errors":%d,"write_errors":%d,"timeouts":%d,"p50_us":%d,"p99_us":%d,"p999_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9), latency.mean))
end

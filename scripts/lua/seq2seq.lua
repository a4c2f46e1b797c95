-- wrk: POST a translation per request, cycling through dates; prints one RESULT line of JSON at the end.
local texts = {"3 March 2021", "17 June 1999", "1 January 2000", "29 February 2024", "12/12/1950", "Mar 3, 2021", "3.3.2021", "5 May 1955"}
local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  i = i + 1
  return wrk.format(nil, "/v1/models/seq2seq/translate", nil, '{"text":"' .. texts[(i % #texts) + 1] .. '"}')
end
done = function(summary, latency, requests)
  io.write(string.format('RESULT {"requests":%d,"duration_us":%d,"non2xx":%d,"connect_errors":%d,"read_errors":%d,"write_errors":%d,"timeouts":%d,"p50_us":%d,"p99_us":%d,"p999_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9), latency.mean))
end

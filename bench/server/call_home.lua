-- wrk script of the call-home benchmark (bench/server): every request is a steady call home
-- (SPEC 7) of another key, each key already active on its own machine (BENCH-n, HW-n, SW-n
-- for the key on line n + 1 of the keys file), so no call activates, refuses or repeats.
--
-- wrk -t T -c C -d D -s call_home.lua URL -- KEYS_FILE OFFSET STRIDE SAMPLE_FILE SAMPLE_EVERY
--   OFFSET: the first key number; STRIDE: wrk's thread count (thread t sends keys
--   OFFSET + t, OFFSET + t + STRIDE, …); SAMPLE_FILE: where every SAMPLE_EVERY-th answer of a
--   thread is written ("signature<TAB>body" a line) for the bench to verify, "" for none.
-- done() prints one line "WRK_JSON {…}" with the counts and latency percentiles.

local threads = {}

function setup(thread)
  thread:set("thread_number", #threads)
  table.insert(threads, thread)
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
-- The server runs with BEHIND_PROXY=1, as behind a TLS-terminating load balancer.
wrk.headers["X-Forwarded-Proto"] = "https"

local keys = {}
local next_number, stride, sample, sample_every

function init(args)
  for line in io.lines(args[1]) do
    keys[#keys + 1] = line
  end
  stride = tonumber(args[3])
  next_number = tonumber(args[2]) + thread_number
  sample_every = tonumber(args[5]) or 0
  if args[4] ~= nil and args[4] ~= "" and sample_every > 0 then
    sample = io.open(args[4] .. "." .. thread_number, "a")
  end
  statuses = {}
  answered = 0
end

function body_of(n, nonce)
  local i = n % #keys
  return string.format(
    '{"key":"%s","machine":{"name":"BENCH-%d","hardware_id":"HW-%d","software_id":"SW-%d"},'
      .. '"product":"spmsp","edition":"server","version":"5.2.7","os":"Windows Server 2022",'
      .. '"nonce":"%s"}',
    keys[i + 1], i, i, i, nonce)
end

function request()
  local n = next_number
  next_number = next_number + stride
  return wrk.format(nil, nil, nil, body_of(n, "wrk-" .. n))
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  answered = answered + 1
  if sample ~= nil and answered % sample_every == 0 then
    local signature = headers["Keyledger-Signature"] or headers["keyledger-signature"] or ""
    sample:write(signature, "\t", body, "\n")
    sample:flush()
  end
end

function done(summary, latency, requests)
  local codes = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      codes[#codes + 1] = string.format('"%d":%d', status, count)
    end
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"connect_errors":%d,"read_errors":%d,'
      .. '"write_errors":%d,"timeouts":%d,"non_2xx":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,'
      .. '"statuses":{%s}}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.timeout, e.status,
    latency:percentile(50), latency:percentile(99), latency.max, table.concat(codes, ",")))
end

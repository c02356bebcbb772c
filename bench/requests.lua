-- wrk script for bench/deployment.py: requests read from a file, one a line, spread over threads.
-- A line is tab-separated: method, path, body, then header name and value pairs.
-- Arguments after `--`: file, offset (first line), limit (lines used; 0 = all), threads.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

function init(args)
  local offset, limit = tonumber(args[2]), tonumber(args[3])
  stride = tonumber(args[4])
  requests = {}
  for line in io.lines(args[1]) do
    local fields = {}
    for field in string.gmatch(line .. "\t", "([^\t]*)\t") do
      table.insert(fields, field)
    end
    local headers = {["X-Forwarded-Proto"] = "https"}
    for i = 4, #fields - 1, 2 do
      headers[fields[i]] = fields[i + 1]
    end
    local body = fields[3]
    if body == "" then body = nil end
    table.insert(requests, {fields[1], fields[2], headers, body})
    if limit > 0 and #requests >= limit then break end
  end
  index = offset + id - 1
  math.randomseed(id * 7919 + os.time())
end

function request()
  local r = requests[index % #requests + 1]
  index = index + stride
  -- Production trusts one proxy hop: a fresh private client address per request keeps
  -- per-address rate limits out of what is measured.
  r[3]["X-Forwarded-For"] = "10." .. math.random(0, 255) .. "." .. math.random(0, 255) .. "." .. math.random(1, 254)
  return wrk.format(r[1], r[2], r[3], r[4])
end

function done()
  local last = 0
  for _, thread in ipairs(threads) do
    last = math.max(last, thread:get("index"))
  end
  io.write(string.format("next offset: %d\n", last))
end

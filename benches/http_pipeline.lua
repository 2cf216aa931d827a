-- wrk script: sends DEPTH requests back to back per write (HTTP/1.1 pipelining).
-- Usage: wrk -s benches/http_pipeline.lua URL -- 16
init = function(args)
  local depth = tonumber(args[1]) or 16
  local reqs = {}
  for i = 1, depth do
    reqs[i] = wrk.format()
  end
  pipelined = table.concat(reqs)
end

request = function()
  return pipelined
end

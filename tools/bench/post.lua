-- wrk script: POST the body in the file named by $BODY. If $BODY.len exists, the body uses Triton's
-- binary tensor extension and that file holds the JSON header's length (sent with no Content-Type,
-- as Triton's clients do).
local f = assert(io.open(os.getenv("BODY"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
local l = io.open(os.getenv("BODY") .. ".len", "r")
if l then
  wrk.headers["Inference-Header-Content-Length"] = l:read("*a")
  l:close()
else
  wrk.headers["Content-Type"] = "application/json"
end
done = function(summary, latency, requests)
  io.write(string.format("non-2xx/errors: %d/%d\n", summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end

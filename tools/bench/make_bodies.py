"""Writes the request bodies docs/benchmarks.md uses: the breast-cancer reference rows repeated to
batches of 1, 32 and 1000, as v2 JSON (rf-batchN.json) and as v2 with Triton's binary tensor
extension (rf-batchN.bin, whose JSON header length is in rf-batchN.bin.len).
Run from the repo root: /usr/bin/python3 tools/bench/make_bodies.py"""
import json, struct, os
here = os.path.dirname(os.path.abspath(__file__))
rows = json.load(open(os.path.join(here, '../fixtures/expected/breast-cancer-rf.json')))['inputs']['input']
for n in (1, 32, 1000):
    data = [x for i in range(n) for x in rows[i % len(rows)]]
    body = {"inputs": [{"name": "input", "shape": [n, 30], "datatype": "FP32", "data": data}]}
    open(os.path.join(here, f'rf-batch{n}.json'), 'w').write(json.dumps(body, separators=(',', ':')))
    header = json.dumps({"inputs": [{"name": "input", "shape": [n, 30], "datatype": "FP32",
                                     "parameters": {"binary_data_size": 4 * len(data)}}],
                         "outputs": [{"name": "label", "parameters": {"binary_data": True}},
                                     {"name": "probabilities", "parameters": {"binary_data": True}}]},
                        separators=(',', ':')).encode()
    open(os.path.join(here, f'rf-batch{n}.bin'), 'wb').write(header + struct.pack(f'<{len(data)}f', *data))
    open(os.path.join(here, f'rf-batch{n}.bin.len'), 'w').write(str(len(header)))

# stock-lstm, batch 1 (Issue 5): one window of 30 prices, FP32 [1, 30, 1], binary like rf-batch1.bin.
window = [v[0] for v in json.load(open(os.path.join(here, '../fixtures/expected/stock-lstm.json')))['inputs']['input'][0]]
body = {"inputs": [{"name": "input", "shape": [1, 30, 1], "datatype": "FP32", "data": window}]}
open(os.path.join(here, 'lstm-batch1.json'), 'w').write(json.dumps(body, separators=(',', ':')))
header = json.dumps({"inputs": [{"name": "input", "shape": [1, 30, 1], "datatype": "FP32",
                                 "parameters": {"binary_data_size": 4 * len(window)}}],
                     "outputs": [{"name": "output", "parameters": {"binary_data": True}}]},
                    separators=(',', ':')).encode()
open(os.path.join(here, 'lstm-batch1.bin'), 'wb').write(header + struct.pack(f'<{len(window)}f', *window))
open(os.path.join(here, 'lstm-batch1.bin.len'), 'w').write(str(len(header)))

# license-encoder, batch 16 (Issue 6's heavier Gatling comparison, ~25 ms a request): 16 windows of
# 64 bytes of the GPL-3 text, as the model's input_ids (byte + 1), INT64 [16, 64].
import random
rnd = random.Random(6)
text = open('/usr/share/common-licenses/GPL-3', 'rb').read()
offsets = [rnd.randrange(len(text) - 64) for _ in range(16)]
ids = [b + 1 for o in offsets for b in text[o:o + 64]]
body = {"inputs": [{"name": "input_ids", "shape": [16, 64], "datatype": "INT64", "data": ids}]}
open(os.path.join(here, 'lic-batch16.json'), 'w').write(json.dumps(body, separators=(',', ':')))

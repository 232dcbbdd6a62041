#!/usr/bin/env python3
"""The PyTorch peer of `seqgrad bench --peers`: a small server on stdin/stdout, one JSON object per line.

Requests (each answered by one JSON line; errors as {"error": "..."}):
  {"cmd": "hello"}                                   -> {"torch": "1.13.0", "threads": 1, "blas": "/usr/lib/…"}
  {"cmd": "setup", "id": 1, "suite": "gemm", "params": {"n": 512}}
                                                     -> {"ok": true} or {"ok": false, "reason": "..."}
  {"cmd": "run", "id": 1, "reps": 10}                -> {"ms": 12.3, "cpu_ms": 12.1}   (perf_counter, process_time)
  {"cmd": "dispose", "id": 1}                        -> {"ok": true}

Workloads (the same as seqgrad's suites; one thread, float32, CPU):
  gemm   {n}                      C = A·B (torch.mm into a preallocated C)
  cells  {cell, B, T, D, H, V}    forward + backward of the cell over T steps with a linear head to V and
                                  cross-entropy (summed) at every step (without V: loss = sum of outputs)
  train  {cell, B, T, D, H, V}    embedding → cell → linear → cross-entropy summed over time, backward, SGD step
  charlm {B, T, H, V}             (train suite, params.model) one-hot → LSTM → linear → mean CE, clip 5, Adam 2e-3
  A case's params.threads (default 1) sets torch.set_num_threads before each timed run.
  sample {cell, D, H, V, tokens}  batch 1: `tokens` steps of embedding → cell step → linear → softmax → multinomial
  decode {beam, n, steps, chunk, pairs}  batched greedy (beam 1) / beam search of the first n sources of the
                                  pairs file with ../seq2seq_decode_torch.py's model (biGRU 64+64, Bahdanau, GRU 128)
"""
import json
import os
import sys
import time

import torch

torch.set_num_threads(1)
torch.manual_seed(42)

CELLS = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}
STEP_CELLS = {"rnn": torch.nn.RNNCell, "gru": torch.nn.GRUCell, "lstm": torch.nn.LSTMCell}


def gemm(p):
    n = int(p["n"])
    a = torch.rand(n, n) * 2 - 1
    b = torch.rand(n, n) * 2 - 1
    c = torch.empty(n, n)

    def call():
        torch.mm(a, b, out=c)

    return call


def cells(p):
    cell, B, T, D, H = p["cell"], int(p["B"]), int(p["T"]), int(p["D"]), int(p["H"])
    layer = CELLS[cell](D, H)
    x = torch.randn(T, B, D, requires_grad=True)
    V = int(p["V"]) if "V" in p else 0
    head = torch.nn.Linear(H, V) if V else None
    targets = torch.randint(0, V, (T * B,)) if V else None
    loss_fn = torch.nn.CrossEntropyLoss(reduction="sum")

    def call():
        layer.zero_grad(set_to_none=False)
        x.grad = None
        out, _ = layer(x)
        if head is None:
            out.sum().backward()
            return
        head.zero_grad(set_to_none=False)
        loss_fn(head(out).reshape(T * B, V), targets).backward()

    return call


def train(p):
    cell, B, T, D, H, V = p["cell"], int(p["B"]), int(p["T"]), int(p["D"]), int(p["H"]), int(p["V"])
    emb = torch.nn.Embedding(V, D)
    rnn = CELLS[cell](D, H)
    head = torch.nn.Linear(H, V)
    params = list(emb.parameters()) + list(rnn.parameters()) + list(head.parameters())
    opt = torch.optim.SGD(params, lr=0.1)
    tokens = torch.randint(0, V, (T, B))
    targets = torch.randint(0, V, (T, B))
    loss_fn = torch.nn.CrossEntropyLoss(reduction="sum")

    def call():
        opt.zero_grad(set_to_none=False)
        out, _ = rnn(emb(tokens))
        loss = loss_fn(head(out).reshape(T * B, V), targets.reshape(T * B)) / B
        loss.backward()
        opt.step()

    return call


class CharLstm(torch.nn.Module):
    """One-hot input over V characters, one LSTM layer, a linear head (benchmarks/tiny_shakespeare_torch.py)."""

    def __init__(self, V, H):
        super().__init__()
        self.V = V
        self.lstm = torch.nn.LSTM(V, H)
        self.head = torch.nn.Linear(H, V)

    def forward(self, ids):
        out, _ = self.lstm(torch.nn.functional.one_hot(ids, self.V).float())
        return self.head(out)


def charlm(p):
    B, T, H, V = int(p["B"]), int(p["T"]), int(p["H"]), int(p["V"])
    model = CharLstm(V, H)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    tokens = torch.randint(0, V, (T, B))
    targets = torch.randint(0, V, (T * B,))
    loss_fn = torch.nn.CrossEntropyLoss()

    def call():
        opt.zero_grad(set_to_none=False)
        loss = loss_fn(model(tokens).reshape(T * B, V), targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()

    return call


def sample(p):
    cell, D, H, V, n = p["cell"], int(p["D"]), int(p["H"]), int(p["V"]), int(p["tokens"])
    emb = torch.nn.Embedding(V, D)
    step = STEP_CELLS[cell](D, H)
    head = torch.nn.Linear(H, V)

    def call():
        with torch.no_grad():
            h = torch.zeros(1, H)
            c = torch.zeros(1, H)
            token = torch.zeros(1, dtype=torch.long)
            for _ in range(n):
                x = emb(token)
                if cell == "lstm":
                    h, c = step(x, (h, c))
                else:
                    h = step(x, h)
                probs = torch.softmax(head(h), dim=1)
                token = torch.multinomial(probs, 1)[0]

    return call


def decode(p):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import seq2seq_decode_torch as s2s  # benchmarks/seq2seq_decode_torch.py

    sources = s2s.load_sources(p["pairs"], int(p["n"]))
    model, sid = s2s.decoding_model(sources)
    chunks = s2s.make_chunks(sources, sid, int(p["chunk"]))
    beam, steps = int(p["beam"]), int(p["steps"])

    def call():
        s2s.decode_all(model, chunks, beam, steps)

    return call


def blas_libraries():
    """The BLAS shared objects really loaded (Debian's torch links libblas.so.3, which the alternatives
    system points at the reference BLAS or at OpenBLAS: a 20x difference in GEMM)."""
    torch.mm(torch.rand(64, 64), torch.rand(64, 64))
    try:
        with open("/proc/self/maps") as maps:
            names = {line.split()[-1] for line in maps if "blas" in line.lower() and "/" in line}
    except OSError:
        return "unknown"
    return ", ".join(sorted(os.path.realpath(n) for n in names)) or "unknown"


WORKLOADS = {"gemm": gemm, "cells": cells, "train": train, "charlm": charlm, "sample": sample, "decode": decode}


def main():
    calls = {}
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            req = json.loads(line)
            cmd = req["cmd"]
            if cmd == "hello":
                reply = {"torch": torch.__version__, "threads": torch.get_num_threads(), "blas": blas_libraries()}
            elif cmd == "setup":
                params = req["params"]
                make = WORKLOADS.get(params.get("model", req["suite"]))
                if make is None:
                    reply = {"ok": False, "reason": f"no torch workload for suite {req['suite']}"}
                else:
                    calls[req["id"]] = (make(params), int(params.get("threads", 1)))
                    reply = {"ok": True}
            elif cmd == "run":
                call, threads = calls[req["id"]]
                torch.set_num_threads(threads)  # the case's thread count (the train suite's --threads)
                reps = int(req["reps"])
                t0, c0 = time.perf_counter(), time.process_time()
                for _ in range(reps):
                    call()
                reply = {"ms": (time.perf_counter() - t0) * 1000.0, "cpu_ms": (time.process_time() - c0) * 1000.0}
            elif cmd == "dispose":
                calls.pop(req["id"], None)
                reply = {"ok": True}
            else:
                reply = {"error": f"unknown command {cmd}"}
        except Exception as err:  # report to the bench instead of dying
            reply = {"error": f"{type(err).__name__}: {err}"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()

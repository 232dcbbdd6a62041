"""PyTorch peer of `seqgrad train --format stream` (a character LSTM as char-rnn trains it), for
comparing validation curves at equal steps on the same data split and the same evaluation.

Data: the file as one stream of characters (newline included), classes = the sorted set of the
file's characters; the last ⌊val_fraction·N⌋ characters are the validation split.
Batches: 'streams' (B contiguous streams of L = ⌊N/B⌋, chunk k at b·L + k·T + t, state carried
and detached, reset at each epoch) or 'random' (B windows at uniform offsets, zero state).
Model: one-hot input → nn.LSTM(V, H) → nn.Linear(H, V); Adam (PyTorch defaults, eps 1e−8);
clip_grad_norm_ over all parameters; loss = mean cross-entropy over the T·B predictions.
Evaluation: the validation split as min(B, N − 1) streams from a zero state, chunks of T, state
carried; mean nats per character and bits = nats / ln 2 (seqgrad's evaluateLanguageModel).

`--init seqgrad` reproduces seqgrad's `--init default` instead of PyTorch's: one bias (bias_hh = 0,
bias_ih ~ U(±1/√H)) with the forget-gate block set to 1. `--init-from M.safetensors` starts from
the very weights of a seqgrad model (`seqgrad train --steps 0` then `seqgrad export --format
safetensors`), with its class order, so both trainers can be followed step by step.

    /usr/bin/python3 benchmarks/char_rnn_torch.py --data ../shared/data/tinyshakespeare.txt --steps 600 --eval-every 100
"""
import argparse
import json
import math
import struct
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--data', required=True)
    p.add_argument('--steps', type=int, default=600)
    p.add_argument('--hidden', type=int, default=128)
    p.add_argument('--seq-len', type=int, default=50)
    p.add_argument('--batch', type=int, default=32)
    p.add_argument('--lr', type=float, default=0.002)
    p.add_argument('--clip', type=float, default=5.0)
    p.add_argument('--val-fraction', type=float, default=0.1)
    p.add_argument('--eval-every', type=int, default=100)
    p.add_argument('--max-eval-tokens', type=int, default=0)
    p.add_argument('--batches', choices=['streams', 'random'], default='streams')
    p.add_argument('--init', choices=['pytorch', 'seqgrad'], default='pytorch')
    p.add_argument('--init-from', help="a seqgrad language model exported as safetensors: its weights and class order")
    p.add_argument('--seed', type=int, default=1)
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--json', action='store_true', help='print one JSON object at the end')
    return p.parse_args()


class CharLstm(nn.Module):
    def __init__(self, vocab, hidden):
        super().__init__()
        self.vocab = vocab
        self.rnn = nn.LSTM(vocab, hidden)
        self.linear = nn.Linear(hidden, vocab)

    def forward(self, ids, state):
        out, state = self.rnn(F.one_hot(ids, self.vocab).float(), state)
        return self.linear(out), state


def seqgrad_init(model, hidden):
    """seqgrad's LSTM init: every weight and one bias U(±1/√H), b_f = 1 (rows [i f g o]: f is H…2H)."""
    with torch.no_grad():
        model.rnn.bias_hh_l0.zero_()
        model.rnn.bias_ih_l0[hidden:2 * hidden].fill_(1.0)


def read_safetensors(path):
    """Tensors and metadata of a safetensors file (F32 only), with numpy and struct: no package needed."""
    import numpy as np
    raw = open(path, 'rb').read()
    (n,) = struct.unpack('<Q', raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop('__metadata__', {})
    tensors = {}
    for name, h in header.items():
        if h['dtype'] != 'F32':
            raise SystemExit(f'{path}: expected F32 tensors, got {h["dtype"]} for {name}')
        start, end = h['data_offsets']
        tensors[name] = torch.from_numpy(np.frombuffer(raw[8 + n + start:8 + n + end], dtype='<f4').copy()).view(h['shape'])
    return tensors, meta


def seqgrad_classes(meta):
    """The class of each id in a seqgrad model's vocabulary (its <EOS> is the newline in a stream)."""
    tokens = json.loads(meta['seqgrad.app'])['vocabulary']['tokens']
    return ['\n' if t == '<EOS>' else t for t in tokens]


def evaluate(model, ids, T, B, max_tokens):
    n = len(ids)
    B = min(B, n - 1)
    L = n // B
    if max_tokens > 0:
        L = max(2, min(L, max_tokens // B + 1))
    streams = ids[:B * L].view(B, L).t()  # [L, B]: stream b is ids[b·L … b·L + L)
    total, count, state = 0.0, 0, None
    with torch.no_grad():
        for p in range(0, L - 1, T):
            steps = min(T, L - 1 - p)
            logits, state = model(streams[p:p + steps], state)
            total += F.cross_entropy(logits.reshape(-1, model.vocab), streams[p + 1:p + 1 + steps].reshape(-1), reduction='sum').item()
            count += steps * B
    return total / count, count


def main():
    a = parse_args()
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    text = open(a.data, encoding='utf-8').read()
    chars = sorted(set(text))
    if a.init_from:
        tensors, meta = read_safetensors(a.init_from)
        chars = seqgrad_classes(meta)
        if sorted(chars) != sorted(set(text)):
            raise SystemExit(f'{a.init_from}: its classes are not the characters of {a.data}')
    index = {c: i for i, c in enumerate(chars)}
    ids = torch.tensor([index[c] for c in text], dtype=torch.long)
    n_val = math.floor(len(ids) * a.val_fraction)
    train, val = ids[:len(ids) - n_val], ids[len(ids) - n_val:]
    V, T, B, H = len(chars), a.seq_len, a.batch, a.hidden

    model = CharLstm(V, H)
    if a.init == 'seqgrad':
        seqgrad_init(model, H)
    if a.init_from:
        model.load_state_dict(tensors)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    L = len(train) // B
    steps_per_epoch = (L - 1) // T
    streams = train[:B * L].view(B, L).t()  # [L, B]
    gen = torch.Generator().manual_seed(a.seed)

    curve, state, start = [], None, time.process_time()
    for step in range(1, a.steps + 1):
        chunk = (step - 1) % steps_per_epoch
        if a.batches == 'random':
            offsets = torch.randint(0, len(train) - T, (B,), generator=gen)
            window = torch.stack([train[o:o + T + 1] for o in offsets.tolist()], dim=1)  # [T + 1, B]
            x, y, state = window[:-1], window[1:], None
        else:
            if chunk == 0:
                state = None
            x, y = streams[chunk * T:chunk * T + T], streams[chunk * T + 1:chunk * T + T + 1]
        logits, state = model(x, state)
        state = tuple(s.detach() for s in state)
        loss = F.cross_entropy(logits.reshape(-1, V), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        if a.clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), a.clip)
        opt.step()
        if step % a.eval_every == 0 or step == a.steps:
            nats, tokens = evaluate(model, val, T, B, a.max_eval_tokens)
            record = {'step': step, 'trainLoss': loss.item(), 'loss': nats, 'bitsPerToken': nats / math.log(2), 'tokens': tokens}
            curve.append(record)
            if not a.json:
                print(f"step {step:5d}  train {loss.item():.4f}  val {nats:.4f} nats  {nats / math.log(2):.4f} bits/char", flush=True)
    summary = {'peer': 'pytorch', 'torch': torch.__version__, 'vocabularySize': V, 'trainTokens': len(train),
               'validationTokens': len(val), 'init': a.init, 'batches': a.batches, 'cpuSeconds': time.process_time() - start,
               'evaluations': curve}
    if a.json:
        json.dump(summary, sys.stdout)
        print()


if __name__ == '__main__':
    main()

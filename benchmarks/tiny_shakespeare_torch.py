#!/usr/bin/env python3
"""PyTorch peer of `seqgrad train` on Tiny Shakespeare, for the wall-clock race of issue 17: the same
char-level LSTM language model, data split, batching, optimizer, clipping and clock, so the two
validation bits/char after the same minutes compare.

What matches seqgrad (training/lm/train.ts, training/lm/model.ts):
  - corpus: every non-empty line's characters followed by <EOS> (the newline), '\\r' before '\\n'
    dropped; the last --val-fraction (0.1) of the tokens is the validation split; the vocabulary
    (<EOS>, <UNK>, then the characters) is built on the training split only (a validation character
    never seen in training becomes <UNK>);
  - batching: the training split cut into B streams of L = N // B tokens; step k feeds tokens
    k·T … k·T + T − 1 of every stream and predicts the next; the state is carried from chunk to
    chunk (detached) and reset at each epoch of (L − 1) // T steps;
  - model: one-hot input, one LSTM layer of H, a linear output layer; PyTorch's default init with the
    forget-gate bias at 1 (seqgrad has one bias vector: here bias_ih's forget block 1, bias_hh's 0);
  - loss: mean cross-entropy over the T·B predictions; clip_grad_norm_ 5; Adam lr 2e-3 (β 0.9, 0.999,
    ε 1e-8);
  - clock: no step starts when the seconds so far plus the last step's would pass --minutes; the
    validation after the run is not counted (seqgrad's --time-limit); no validation during the run
    (give seqgrad --eval-every-seconds larger than the run, else it validates once per epoch on its clock);
  - validation: the whole split in min(B, N − 1) streams from a zero state, chunks of T; bits/char =
    mean loss / ln 2.

  python3 benchmarks/tiny_shakespeare_torch.py --data ../shared/data/tinyshakespeare.txt --minutes 10
  (--threads N: torch.set_num_threads, default all cores)
"""
import argparse
import math
import os
import time
from collections import Counter

import torch
import torch.nn as nn
import torch.nn.functional as F

EOS, UNK = '<EOS>', '<UNK>'


def corpus_tokens(text):
    for line in text.split('\n'):
        if line.endswith('\r'):
            line = line[:-1]
        if not line:
            continue
        yield from line
        yield EOS


def prepare(text, val_fraction):
    tokens = list(corpus_tokens(text))
    n_val = math.floor(len(tokens) * val_fraction)
    train_tokens = tokens[:len(tokens) - n_val]
    counts = Counter(t for t in train_tokens if t not in (EOS, UNK))
    # seqgrad's order: the specials, then by descending count, ties by code unit (the ids only name the classes)
    vocab = [EOS, UNK] + [t for t, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    ids = {t: i for i, t in enumerate(vocab)}
    all_ids = torch.tensor([ids.get(t, 1) for t in tokens], dtype=torch.long)
    return vocab, all_ids[:len(tokens) - n_val], all_ids[len(tokens) - n_val:]


class CharLstm(nn.Module):
    def __init__(self, vocab_size, hidden):
        super().__init__()
        self.vocab_size = vocab_size
        self.lstm = nn.LSTM(vocab_size, hidden)
        self.head = nn.Linear(hidden, vocab_size)
        with torch.no_grad():
            self.lstm.bias_ih_l0[hidden:2 * hidden].fill_(1.0)
            self.lstm.bias_hh_l0[hidden:2 * hidden].zero_()

    def forward(self, ids, state):
        x = F.one_hot(ids, self.vocab_size).float()  # [T, B, V]
        out, state = self.lstm(x, state)
        return self.head(out), state


def evaluate(model, ids, seq_len, batch):
    b = min(batch, len(ids) - 1)
    length = len(ids) // b
    streams = ids[:b * length].view(b, length).t()  # [L, B]
    total, count, state = 0.0, 0, None
    with torch.no_grad():
        for p in range(0, length - 1, seq_len):
            steps = min(seq_len, length - 1 - p)
            logits, state = model(streams[p:p + steps], state)
            total += F.cross_entropy(logits.reshape(-1, model.vocab_size), streams[p + 1:p + steps + 1].reshape(-1), reduction='sum').item()
            count += steps * b
    return total / count, count


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--data', default=os.path.join(os.path.dirname(__file__), '..', '..', 'shared', 'data', 'tinyshakespeare.txt'))
    ap.add_argument('--minutes', type=float, default=10.0)
    ap.add_argument('--hidden', type=int, default=256)
    ap.add_argument('--seq-len', type=int, default=100)
    ap.add_argument('--batch', type=int, default=32)
    ap.add_argument('--lr', type=float, default=2e-3)
    ap.add_argument('--clip', type=float, default=5.0)
    ap.add_argument('--val-fraction', type=float, default=0.1)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--threads', type=int, default=os.cpu_count())
    ap.add_argument('--eval-every', type=int, default=0, help='also print validation bits/char every N steps (outside the clock)')
    ap.add_argument('--steps', type=int, default=0, help='stop after N steps (0: only the clock stops the run)')
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    with open(args.data, encoding='utf-8') as f:
        vocab, train, val = prepare(f.read(), args.val_fraction)
    T, B = args.seq_len, args.batch
    L = len(train) // B
    streams = train[:B * L].view(B, L).t().contiguous()  # [L, B]: stream b is column b
    steps_per_epoch = (L - 1) // T
    model = CharLstm(len(vocab), args.hidden)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.9, 0.999), eps=1e-8)

    limit = args.minutes * 60
    start = time.perf_counter()
    step, last_step_seconds, state, loss_avg = 0, 0.0, None, float('nan')
    paused = 0.0  # seconds spent in --eval-every validations, taken off the clock
    while time.perf_counter() - start - paused + last_step_seconds <= limit and (args.steps == 0 or step < args.steps):
        t0 = time.perf_counter()
        chunk = step % steps_per_epoch
        if chunk == 0:
            state = None  # a new epoch: the streams restart from a zero state
        x = streams[chunk * T:chunk * T + T]
        y = streams[chunk * T + 1:chunk * T + T + 1]
        logits, state = model(x, state)
        state = tuple(s.detach() for s in state)
        loss = F.cross_entropy(logits.reshape(-1, len(vocab)), y.reshape(-1))
        opt.zero_grad(set_to_none=False)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        opt.step()
        step += 1
        loss_avg = loss.item() if math.isnan(loss_avg) else 0.95 * loss_avg + 0.05 * loss.item()
        last_step_seconds = time.perf_counter() - t0
        if args.eval_every and step % args.eval_every == 0:
            t1 = time.perf_counter()
            val_loss, _ = evaluate(model, val, T, B)
            print(f'step {step}: train {loss_avg / math.log(2):.3f} (EMA), validation {val_loss / math.log(2):.3f} bits/char', flush=True)
            paused += time.perf_counter() - t1
    seconds = time.perf_counter() - start - paused
    val_loss, val_tokens = evaluate(model, val, T, B)
    print(f'pytorch {torch.__version__} ({args.threads} thread{"s" if args.threads != 1 else ""}): {step} steps '
          f'({step / steps_per_epoch:.2f} epochs) in {seconds:.1f} s, {step * T * B / seconds:.0f} tokens/s, '
          f'vocabulary {len(vocab)}, train loss {loss_avg / math.log(2):.3f} bits/char')
    print(f'validation: {val_loss / math.log(2):.3f} bits/char ({val_tokens} tokens)')


if __name__ == '__main__':
    main()

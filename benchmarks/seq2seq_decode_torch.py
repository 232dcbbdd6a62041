#!/usr/bin/env python3
"""PyTorch peer of seqgrad's batched seq2seq decoding (issue 17, item 7): the same model sizes as
`seqgrad seq2seq train --cell gru --bidirectional --hidden 64` (embedding 32, biGRU encoder 64+64,
Bahdanau attention n_att 128, GRU decoder 128, output layer over [h', e, c]) decoding the sources of a
pairs file, greedy and beam search, all sources batched (chunks of --chunk sources, all hypotheses of
a chunk one batch), encoder once per chunk, attention keys projected once.

Timing only: the weights are random (nn defaults, seeded) and every hypothesis runs --steps decoder
steps (the dates task's outputs are 10 characters + <EOS>), so the work per step is that of a full
beam; PyTorch's GRU is reset-after (seqgrad's 'gru' is the notes' reset-before: the same GEMM sizes).

  /usr/bin/python3 benchmarks/seq2seq_decode_torch.py --pairs test.tsv --n 1000 --beam 5 --threads 1

`seqgrad bench decode --peers` runs the same work through benchmarks/peers/torch_peer.py (load_sources,
decoding_model, make_chunks and decode_all below).
"""
import argparse
import time

import torch
import torch.nn as nn


class Seq2Seq(nn.Module):
    def __init__(self, v_src, v_tgt, d=32, h_enc=64, h_dec=128, n_att=128):
        super().__init__()
        nc = 2 * h_enc
        self.src_emb = nn.Embedding(v_src, d)
        self.encoder = nn.GRU(d, h_enc, bidirectional=True)
        self.tgt_emb = nn.Embedding(v_tgt, d)
        self.decoder = nn.GRUCell(d + nc, h_dec)
        self.att_W = nn.Linear(h_dec, n_att, bias=False)
        self.att_U = nn.Linear(nc, n_att)
        self.att_v = nn.Linear(n_att, 1, bias=False)
        self.out = nn.Linear(h_dec + d + nc, v_tgt)

    def encode(self, src, lengths):
        """src [T_x, B] (right-padded); returns H [B, T_x, nc], keys U H + b, mask [B, T_x], h0 [B, H_dec]."""
        packed = nn.utils.rnn.pack_padded_sequence(self.src_emb(src), lengths, enforce_sorted=False)
        out, h_n = self.encoder(packed)
        H, _ = nn.utils.rnn.pad_packed_sequence(out)  # [T_x, B, nc]
        H = H.transpose(0, 1).contiguous()
        mask = torch.arange(H.shape[1])[None, :] < lengths[:, None]
        h0 = torch.cat([h_n[0], h_n[1]], dim=1)  # m_0 = [a→⟨T⟩, a←⟨1⟩] (nc = H_dec: copied, no bridge)
        return H, self.att_U(H), mask, h0

    def step(self, tokens, h, H, keys, mask):
        """One decoder step for rows of (token, state) against their source's H / keys / mask."""
        e = self.tgt_emb(tokens)
        scores = self.att_v(torch.tanh(self.att_W(h)[:, None, :] + keys)).squeeze(2)
        scores = scores.masked_fill(~mask, float('-inf'))
        alpha = torch.softmax(scores, dim=1)
        c = torch.bmm(alpha[:, None, :], H).squeeze(1)
        h = self.decoder(torch.cat([e, c], dim=1), h)
        logp = torch.log_softmax(self.out(torch.cat([h, e, c], dim=1)), dim=1)
        return logp, h


def decode_chunk(model, src, lengths, beam, steps, sos):
    H, keys, mask, h = model.encode(src, lengths)
    B = H.shape[0]
    if beam > 1:  # every source's K hypotheses are rows b·K … b·K + K − 1
        expand = torch.arange(B).repeat_interleave(beam)
        H, keys, mask, h = H[expand], keys[expand], mask[expand], h[expand]
    tokens = torch.full((B * beam,), sos, dtype=torch.long)
    scores = torch.zeros(B, beam)
    scores[:, 1:] = float('-inf')  # one live hypothesis at the start
    for _ in range(steps):
        logp, h = model.step(tokens, h, H, keys, mask)
        V = logp.shape[1]
        total = (scores.reshape(-1, 1) + logp).reshape(B, beam * V)
        scores, idx = total.topk(beam, dim=1)
        parent = (idx // V) + torch.arange(B)[:, None] * beam
        tokens = (idx % V).reshape(-1)
        h = h[parent.reshape(-1)]
    return scores


def load_sources(path, n):
    """The first n source strings of a pairs file (source<TAB>target per line)."""
    with open(path, encoding='utf8') as f:
        return [line.split('\t')[0] for line in f.read().strip().split('\n')][:n]


def decoding_model(sources):
    """The model over the sources' characters (0 = <PAD>, 1 = <UNK>) and the id of each character; 15 target tokens."""
    chars = sorted({ch for s in sources for ch in s})
    sid = {ch: i + 2 for i, ch in enumerate(chars)}
    return Seq2Seq(len(chars) + 2, 15).eval(), sid


def make_chunks(sources, sid, chunk):
    """Sources in order of length (as seqgrad), chunks of `chunk`: (src [T_x, B] right-padded, lengths) each."""
    order = sorted(range(len(sources)), key=lambda i: len(sources[i]))
    chunks = []
    for start in range(0, len(order), chunk):
        picked = [sources[i] for i in order[start: start + chunk]]
        lengths = torch.tensor([len(s) for s in picked])
        src = torch.zeros(int(lengths.max()), len(picked), dtype=torch.long)
        for b, s in enumerate(picked):
            src[: len(s), b] = torch.tensor([sid[ch] for ch in s])
        chunks.append((src, lengths))
    return chunks


def decode_all(model, chunks, beam, steps):
    with torch.no_grad():
        for src, lengths in chunks:
            decode_chunk(model, src, lengths, beam, steps, 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--pairs', required=True)
    ap.add_argument('--n', type=int, default=1000)
    ap.add_argument('--beam', type=int, default=5)
    ap.add_argument('--steps', type=int, default=11)
    ap.add_argument('--chunk', type=int, default=64)
    ap.add_argument('--threads', type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    sources = load_sources(args.pairs, args.n)
    model, sid = decoding_model(sources)
    chunks = make_chunks(sources, sid, args.chunk)
    decode_all(model, chunks[:1], args.beam, args.steps)  # warm-up
    c0, w0 = time.process_time(), time.perf_counter()
    decode_all(model, chunks, args.beam, args.steps)
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    print(f'torch {torch.__version__} threads {args.threads}: beam {args.beam} n {len(sources)} steps {args.steps}: '
          f'cpu {cpu:.2f} s (wall {wall:.1f} s)')


if __name__ == '__main__':
    main()

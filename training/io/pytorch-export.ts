/**
 * `seqgrad export --format pytorch`: a folder a PyTorch user takes over from —
 *
 *   model.safetensors  the weights under PyTorch's state_dict names and seqgrad's config in
 *                      __metadata__ (training/io/sequence-net.ts)
 *   model.py           a self-contained nn.Module of the same architecture and gate layout
 *                      (nn.RNN / nn.GRU / nn.LSTM for the kinds PyTorch has, a small module with
 *                      the same names for the others), reading and writing safetensors with numpy
 *                      and struct: `load(path)`, `save(net, path)`; no package beyond torch
 *   train_ddp.py       (language models) continues training under torchrun with
 *                      DistributedDataParallel on a corpus in `seqgrad train`'s format and writes
 *                      a safetensors file that `seqgrad import` reads back
 *
 * The two Python files are the same for every model: each reads its architecture from the
 * safetensors file it loads. They are kept here as text so that the built CLI (one bundled file)
 * carries them.
 */
import { fs, nodePath } from './node-builtins.js';
import { writeFileAtomic } from './files.js';
import { saveModelSafetensors, type ExportableModel } from './sequence-net.js';

/** What `writePytorchFolder` wrote, by file name. */
export interface PytorchFolder {
  files: string[];
}

/**
 * Write model.safetensors, model.py and (for a language model) train_ddp.py into `dir`
 * (created when missing; files of those names are replaced atomically).
 */
export function writePytorchFolder(dir: string, model: ExportableModel): PytorchFolder {
  fs.mkdirSync(dir, { recursive: true });
  saveModelSafetensors(nodePath.join(dir, 'model.safetensors'), model);
  writeFileAtomic(nodePath.join(dir, 'model.py'), MODEL_PY);
  const files = ['model.safetensors', 'model.py'];
  if (model.document.model === 'language-model') {
    writeFileAtomic(nodePath.join(dir, 'train_ddp.py'), TRAIN_DDP_PY);
    files.push('train_ddp.py');
  }
  return { files };
}

/** model.py: the nn.Module, safetensors read/write, load() and save(). */
export const MODEL_PY = String.raw`#!/usr/bin/env python3
"""A seqgrad model as a self-contained PyTorch nn.Module (written by 'seqgrad export --format pytorch').

    from model import load, save
    net = load('model.safetensors')      # architecture from the file's __metadata__, then the weights
    logits = net(ids)                    # ids: LongTensor (T, B), time-major -> (T, B, K) or (B, K)
    save(net, 'trained.safetensors')     # back to seqgrad:  seqgrad import trained.safetensors --out model.json

    python3 model.py model.safetensors                      # prints the architecture
    python3 model.py model.safetensors --ids-json ids.json  # {"T", "B", "ids"} -> {"logits": rows}

Architecture (the file's "seqgrad.net"): ids -> nn.Embedding (or one-hot of width V) -> L stacked
recurrent layers (uni- or bidirectional) -> nn.Linear at every step ('every-step') or on the last
step ('last-step': [forward at t = T, backward at t = 1]) -> logits (softmax or sigmoid head).
Cells: 'rnn' (nn.RNN, tanh or relu), 'gru-reset-after' (nn.GRU), 'lstm' (nn.LSTM) are PyTorch's
own modules with PyTorch's gate orders (GRU [r z n], LSTM [i f g o]); the cells PyTorch lacks run
in SeqgradRNN below, with seqgrad's row layout under the same names:
  'gru'           [r u c]: r, u = sigmoid(...), c~ = tanh(W_ic x + b_c + W_hc (r * h)), h = u * c~ + (1 - u) * h
  'gru-simple'    [u c]:   as 'gru' with r = 1
  'lstm-peephole' [i f g o] with peephole_i/f/o (H): i = sigmoid(... + p_i * c), f = sigmoid(... + p_f * c),
                  c' = i * g + f * c, o = sigmoid(... + p_o * c'), h = o * tanh(c')
Only torch and numpy are needed: safetensors (an 8-byte little-endian header length, a JSON header,
raw little-endian tensors) is read and written here.
"""
import json
import struct
import sys

import numpy as np
import torch
from torch import nn

_NUMPY_DTYPES = {'F32': '<f4', 'F64': '<f8', 'F16': '<f2'}


def read_safetensors(path):
    """(tensors by name, metadata) of a safetensors file; F16/BF16 become float32."""
    with open(path, 'rb') as f:
        data = f.read()
    (n,) = struct.unpack('<Q', data[:8])
    header = json.loads(data[8:8 + n].decode('utf-8'))
    metadata = header.pop('__metadata__', {})
    tensors = {}
    for name, entry in header.items():
        begin, end = entry['data_offsets']
        raw = data[8 + n + begin:8 + n + end]
        if entry['dtype'] == 'BF16':
            array = (np.frombuffer(raw, '<u2').astype(np.uint32) << 16).view(np.float32)
        elif entry['dtype'] in _NUMPY_DTYPES:
            array = np.frombuffer(raw, _NUMPY_DTYPES[entry['dtype']])
        else:
            raise ValueError(f'{path}: tensor {name}: unsupported dtype {entry["dtype"]}')
        if array.dtype == np.float16:
            array = array.astype(np.float32)
        tensors[name] = torch.from_numpy(array.astype(array.dtype.newbyteorder('='))).reshape(entry['shape']).clone()
    return tensors, metadata


def write_safetensors(path, tensors, metadata):
    """Write float32/float64 tensors (in the given order) and string metadata as safetensors."""
    header, chunks, offset = {'__metadata__': metadata}, [], 0
    for name, t in tensors.items():
        t = t.detach().cpu().contiguous()
        dtype = 'F64' if t.dtype == torch.float64 else 'F32'
        raw = t.to(torch.float64 if dtype == 'F64' else torch.float32).numpy().astype(_NUMPY_DTYPES[dtype]).tobytes()
        header[name] = {'dtype': dtype, 'shape': list(t.shape), 'data_offsets': [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(',', ':'))
    text += ' ' * ((8 - len(text.encode('utf-8')) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text.encode('utf-8'))))
        f.write(text.encode('utf-8'))
        for chunk in chunks:
            f.write(chunk)


_GATES = {'gru': 3, 'gru-simple': 2, 'lstm-peephole': 4}


class SeqgradRNN(nn.Module):
    """seqgrad's cells PyTorch lacks, as a multi-layer (bi)directional module with nn.RNN's names."""

    def __init__(self, kind, input_size, hidden_size, num_layers, bidirectional):
        super().__init__()
        self.kind, self.hidden_size, self.num_layers, self.bidirectional = kind, hidden_size, num_layers, bidirectional
        G, H = _GATES[kind] * hidden_size, hidden_size
        for k in range(num_layers):
            width = input_size if k == 0 else H * (2 if bidirectional else 1)
            for sfx in self._suffixes(k):
                bound = 1 / H ** 0.5
                self.register_parameter(f'weight_ih_{sfx}', nn.Parameter(torch.empty(G, width).uniform_(-bound, bound)))
                self.register_parameter(f'weight_hh_{sfx}', nn.Parameter(torch.empty(G, H).uniform_(-bound, bound)))
                self.register_parameter(f'bias_ih_{sfx}', nn.Parameter(torch.empty(G).uniform_(-bound, bound)))
                if kind == 'lstm-peephole':
                    for g in 'ifo':
                        self.register_parameter(f'peephole_{g}_{sfx}', nn.Parameter(torch.empty(H).uniform_(-bound, bound)))

    def _suffixes(self, k):
        return [f'l{k}', f'l{k}_reverse'] if self.bidirectional else [f'l{k}']

    def _direction(self, x, sfx):
        """x (T, B, D) -> outputs (T, B, H), left to right."""
        p = lambda name: getattr(self, f'{name}_{sfx}')
        H = self.hidden_size
        xp = x @ p('weight_ih').t() + p('bias_ih')
        w_hh = p('weight_hh')
        h = x.new_zeros(x.shape[1], H)
        c = x.new_zeros(x.shape[1], H)
        outputs = []
        for t in range(x.shape[0]):
            if self.kind == 'lstm-peephole':
                g = xp[t] + h @ w_hh.t()
                i = torch.sigmoid(g[:, :H] + p('peephole_i') * c)
                f = torch.sigmoid(g[:, H:2 * H] + p('peephole_f') * c)
                c = i * torch.tanh(g[:, 2 * H:3 * H]) + f * c
                o = torch.sigmoid(g[:, 3 * H:] + p('peephole_o') * c)
                h = o * torch.tanh(c)
            elif self.kind == 'gru':
                g = xp[t, :, :2 * H] + h @ w_hh[:2 * H].t()
                r, u = torch.sigmoid(g[:, :H]), torch.sigmoid(g[:, H:])
                candidate = torch.tanh(xp[t, :, 2 * H:] + (r * h) @ w_hh[2 * H:].t())
                h = u * candidate + (1 - u) * h
            else:  # gru-simple
                g = xp[t] + h @ w_hh.t()
                u, candidate = torch.sigmoid(g[:, :H]), torch.tanh(g[:, H:])
                h = u * candidate + (1 - u) * h
            outputs.append(h)
        return torch.stack(outputs)

    def forward(self, x):
        for k in range(self.num_layers):
            forward = self._direction(x, f'l{k}')
            if self.bidirectional:
                backward = self._direction(x.flip(0), f'l{k}_reverse').flip(0)
                x = torch.cat([forward, backward], dim=2)
            else:
                x = forward
        return x, None


def make_rnn(config, input_size):
    kind, H, L, bi = config['cell'], config['hidden'], config['layers'], config['bidirectional']
    if kind == 'rnn':
        return nn.RNN(input_size, H, num_layers=L, nonlinearity=config.get('activation', 'tanh'), bidirectional=bi)
    if kind == 'gru-reset-after':
        return nn.GRU(input_size, H, num_layers=L, bidirectional=bi)
    if kind == 'lstm':
        return nn.LSTM(input_size, H, num_layers=L, bidirectional=bi)
    return SeqgradRNN(kind, input_size, H, L, bi)


class SeqgradNet(nn.Module):
    """ids (T, B) -> embedding or one-hot -> recurrent stack -> linear: logits (T, B, K) or (B, K)."""

    def __init__(self, config):
        super().__init__()
        self.config = config
        V, d = config['vocabSize'], config['embeddingDim']
        self.embedding = nn.Embedding(V, d) if d > 0 else None
        self.rnn = make_rnn(config, d if d > 0 else V)
        self.linear = nn.Linear(config['hidden'] * (2 if config['bidirectional'] else 1), config['outputSize'])

    def forward(self, ids):
        c = self.config
        if self.embedding is not None:
            x = self.embedding(ids)
        else:
            x = nn.functional.one_hot(ids, c['vocabSize']).to(self.linear.weight.dtype)
        out, _ = self.rnn(x)
        if c['readout'] == 'last-step':
            H = c['hidden']
            out = torch.cat([out[-1, :, :H], out[0, :, H:]], dim=1) if c['bidirectional'] else out[-1]
        return self.linear(out)

    def probabilities(self, ids):
        logits = self(ids)
        return torch.softmax(logits, dim=-1) if self.config['head'] == 'softmax' else torch.sigmoid(logits)


def load(path):
    """The model in a safetensors file written by seqgrad (or by save below)."""
    tensors, metadata = read_safetensors(path)
    net = SeqgradNet(json.loads(metadata['seqgrad.net']))
    if net.config['dtype'] == 'float64':
        net = net.double()
    dtype = net.linear.weight.dtype
    net.load_state_dict({name: t.to(dtype) for name, t in tensors.items()})
    net.metadata = metadata
    return net


def save(net, path):
    """Write the weights and seqgrad's metadata: 'seqgrad import path --out model.json' reads it."""
    module = net.module if hasattr(net, 'module') else net  # a DistributedDataParallel wrapper
    write_safetensors(path, module.state_dict(), module.metadata)


if __name__ == '__main__':
    if len(sys.argv) < 2:
        sys.exit('usage: python3 model.py model.safetensors [--ids-json ids.json]')
    model = load(sys.argv[1])
    if '--ids-json' not in sys.argv:
        print(model)
        sys.exit(0)
    case = json.load(open(sys.argv[sys.argv.index('--ids-json') + 1]))
    ids = torch.tensor(case['ids'], dtype=torch.long).reshape(case['T'], case['B'])
    with torch.no_grad():
        logits = model(ids)
    print(json.dumps({'logits': logits.reshape(-1, logits.shape[-1]).tolist()}))
`;

/** train_ddp.py: continue training a language model with DistributedDataParallel under torchrun. */
export const TRAIN_DDP_PY = String.raw`#!/usr/bin/env python3
"""Continue training a seqgrad language model with PyTorch's DistributedDataParallel
(written by 'seqgrad export --format pytorch' beside model.py and model.safetensors).

    torchrun --nproc_per_node 2 train_ddp.py --data corpus.txt --steps 1000 --out trained.safetensors
    torchrun --nnodes 4 --nproc_per_node 8 --rdzv-endpoint HOST:29400 train_ddp.py ...   (many machines)
    seqgrad import trained.safetensors --out model.json                                  (back to seqgrad)

Debian 12's torch 1.13 under Python 3.11: add '--redirects 1 --tee 1' to torchrun (its default
'0' parses to None there and torchrun fails with "'NoneType' object has no attribute 'get'").

The corpus has seqgrad train's format: each line's tokens (characters or words, lower-cased or
not, as the exported model's config says) followed by <EOS>; tokens outside the model's
vocabulary become <UNK> (the vocabulary is the model's: it cannot grow). Every process draws its
own random windows of --seq-len + 1 tokens (seeded by --seed and its rank); DDP averages the
gradients, clip_grad_norm_ (--clip) and Adam (--lr) update every replica alike. Backend: nccl
with one GPU per process when CUDA is there, gloo on CPUs. Rank 0 prints the loss and writes --out.
"""
import argparse
import json
import os
import re
import time

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from model import load, save

WORD = re.compile(r"[^\W_]+(?:['\u2019-][^\W_]+)*|[^\s\w]|_")


def tokenize_corpus(text, level, lowercase):
    """seqgrad's tokenizeCorpus: every non-empty line's tokens, then <EOS>."""
    lines = re.split(r'\r?\n', text)
    if lines and lines[-1] == '':
        lines.pop()
    out = []
    for line in lines:
        if lowercase:
            line = line.lower()
        tokens = list(line) if level == 'char' else WORD.findall(line)
        if tokens:
            out.extend(tokens)
            out.append('<EOS>')
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--model', default=os.path.join(os.path.dirname(os.path.abspath(__file__)), 'model.safetensors'))
    parser.add_argument('--data', required=True, help='training corpus (seqgrad train format)')
    parser.add_argument('--steps', type=int, default=1000)
    parser.add_argument('--batch', type=int, default=32, help='sequences per process and step')
    parser.add_argument('--seq-len', type=int, default=100)
    parser.add_argument('--lr', type=float, default=0.002)
    parser.add_argument('--clip', type=float, default=5.0)
    parser.add_argument('--seed', type=int, default=1)
    parser.add_argument('--out', default='trained.safetensors')
    args = parser.parse_args()

    for key, value in (('RANK', '0'), ('WORLD_SIZE', '1'), ('LOCAL_RANK', '0'), ('MASTER_ADDR', '127.0.0.1'), ('MASTER_PORT', '29500')):
        os.environ.setdefault(key, value)  # also runs as a single plain process
    cuda = torch.cuda.is_available()
    dist.init_process_group(backend='nccl' if cuda else 'gloo')
    rank, world = dist.get_rank(), dist.get_world_size()
    device = torch.device('cuda', int(os.environ['LOCAL_RANK'])) if cuda else torch.device('cpu')

    net = load(args.model)
    app = json.loads(net.metadata['seqgrad.app'])
    if net.metadata.get('seqgrad.model') != 'language-model':
        raise SystemExit(f"{args.model}: expected a language model, got {net.metadata.get('seqgrad.model')}")
    config, tokens = app['config'], app['vocabulary']['tokens']
    index = {t: i for i, t in enumerate(tokens)}
    unk = index.get('<UNK>')
    with open(args.data, encoding='utf-8') as f:
        corpus = tokenize_corpus(f.read(), config['level'], config['lowercase'])
    if unk is None and any(t not in index for t in corpus):
        raise SystemExit(f'{args.data}: tokens outside the vocabulary and the model has no <UNK>')
    ids = torch.tensor([index.get(t, unk) for t in corpus], dtype=torch.long)
    T, B = args.seq_len, args.batch
    if len(ids) < T + 2:
        raise SystemExit(f'{args.data}: {len(ids)} tokens, at least --seq-len + 2 = {T + 2} are needed')

    metadata = net.metadata
    net = net.to(device)
    ddp = DistributedDataParallel(net, device_ids=[device.index] if cuda else None)
    optimizer = torch.optim.Adam(ddp.parameters(), lr=args.lr)
    generator = torch.Generator().manual_seed(args.seed * 1000 + rank)
    started = time.time()
    for step in range(1, args.steps + 1):
        starts = torch.randint(0, len(ids) - T - 1, (B,), generator=generator)
        window = torch.stack([ids[s:s + T + 1] for s in starts.tolist()], dim=1).to(device)  # (T + 1, B)
        logits = ddp(window[:-1])
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), window[1:].reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(ddp.parameters(), args.clip)
        optimizer.step()
        if rank == 0 and (step == 1 or step % 50 == 0 or step == args.steps):
            print(f'step {step}/{args.steps}  loss {loss.item():.4f}  ({world} process(es), {time.time() - started:.1f} s)', flush=True)
    if rank == 0:
        net.metadata = metadata
        save(net, args.out)
        print(f'wrote {args.out}: seqgrad import {args.out} --out model.json', flush=True)
    dist.destroy_process_group()


if __name__ == '__main__':
    main()
`;

// The brain.js peer (2.0.0-beta): its recurrent nets (brain.recurrent.RNN/GRU/LSTM) learn over token
// ids with a built-in embedding (inputSize = D, inputRange = V, outputSize = V + 1 for its end token)
// and train one sequence at a time (no batching). Workloads by suite (params as seqgrad's):
//   train  {cell, B, T, D, H, V}    B sequences of T token ids through net.trainPattern (forward,
//                                   backward, weight update per sequence)
//   sample {cell, D, H, V, tokens}  batch 1: `tokens` steps of its equation graph (runIndex), softmax
//                                   and sampling — the loop of its own run(), which needs a text formatter
// No gemm or cells workload: brain.js has no matrix product or cell API comparable to seqgrad's.
import brainModule from 'brain.js';

const brain = brainModule.recurrent ? brainModule : brainModule.default;
const NETS = { rnn: brain.recurrent.RNN, gru: brain.recurrent.GRU, lstm: brain.recurrent.LSTM };

function lcg(seed) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
}

function makeNet(cell, D, H, V) {
  const Net = NETS[cell];
  if (!Net) throw new Error(`brain.js peer: unknown cell '${cell}'`);
  const net = new Net({ inputSize: D, inputRange: V, hiddenLayers: [H], outputSize: V + 1 });
  net.initialize();
  return net;
}

const factories = {
  train({ cell, B, T, D, H, V }) {
    const net = makeNet(cell, D, H, V);
    const uniform = lcg(42);
    const sequences = Array.from({ length: B }, () => Array.from({ length: T }, () => Math.floor(uniform() * V)));
    return {
      call() {
        for (const s of sequences) net.trainPattern(s);
      },
    };
  },

  sample({ cell, D, H, V, tokens }) {
    const net = makeNet(cell, D, H, V);
    const uniform = lcg(7);
    const probs = new Float64Array(V + 1);
    return {
      call() {
        const { model } = net;
        let previous = 0;
        for (let i = 0; i < tokens; i++) {
          while (model.equations.length <= i) net.bindEquation();
          const logits = model.equations[i].runIndex(previous).weights;
          let max = -Infinity, sum = 0;
          for (let j = 0; j < logits.length; j++) max = Math.max(max, logits[j]);
          for (let j = 0; j < logits.length; j++) sum += probs[j] = Math.exp(logits[j] - max);
          const r = uniform() * sum;
          let acc = 0, next = logits.length - 1;
          for (let j = 0; j < logits.length; j++) {
            acc += probs[j];
            if (r < acc) { next = j; break; }
          }
          previous = next === 0 ? 1 : next; // never stop at the end token: a fixed number of steps
        }
      },
    };
  },
};

export async function createPeer() {
  const { createRequire } = await import('node:module');
  const version = createRequire(import.meta.url)('brain.js/package.json').version;
  return {
    name: 'brain.js',
    versions: [`brain.js ${version}`],
    async workloads(benchCase) {
      const make = factories[benchCase.suite];
      // no char-LM workload here, and one thread only (the train suite's --threads rows above 1 are not ours)
      if (!make || benchCase.params.model !== undefined || (benchCase.params.threads ?? 1) > 1) return [];
      const work = make(benchCase.params);
      return [{
        impl: 'brain.js',
        ours: false,
        run(reps) {
          const cpu0 = process.cpuUsage();
          const t0 = performance.now();
          for (let i = 0; i < reps; i++) work.call();
          const wallMs = performance.now() - t0;
          const cpu = process.cpuUsage(cpu0);
          return { wallMs, cpuMs: (cpu.user + cpu.system) / 1000 };
        },
      }];
    },
  };
}

// The TensorFlow.js peer: every workload on the 'cpu' backend (plain JS) and the 'wasm' backend
// (XNNPACK, SIMD; single-threaded in Node), one row each. Workloads by suite (params as seqgrad's):
//   gemm   {n}                      C = A·B, A and B uniform in [−1, 1); dataSync() brings C to JS
//   cells  {cell, B, T, D, H, V}    tf.layers.{simpleRNN,gru,lstm} → dense V → softmax cross-entropy at
//                                   every step (summed): gradients of all weights and of x (without V:
//                                   gradients of sum(outputs))
//   train  {cell, B, T, D, H, V}    embedding (one-hot · W) → cell → dense softmax per step, categorical
//                                   cross-entropy, SGD: one model.trainOnBatch
//   sample {cell, D, H, V, tokens}  batch 1, raw ops per token (gather, matMul, split, gates,
//                                   softmax, dataSync, host-side sampling)
// Batch-major inputs [B, T, D] here (tfjs' layout); the work is the same as seqgrad's time-major one.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

tf.enableProdMode(); // no debug checks, and no "install tfjs-node" banner on first use

const BACKENDS = ['cpu', 'wasm'];
const GATES = { rnn: 1, gru: 3, lstm: 4 };

function recurrentLayer(cell, units, extra = {}) {
  const options = { units, returnSequences: true, ...extra };
  if (cell === 'rnn') return tf.layers.simpleRNN({ ...options, activation: 'tanh' });
  if (cell === 'gru') return tf.layers.gru(options);
  if (cell === 'lstm') return tf.layers.lstm(options);
  throw new Error(`tfjs peer: unknown cell '${cell}'`);
}

/** A seeded linear congruential generator for the host-side sampling (the same for every run). */
function lcg(seed) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
}

function sampleFrom(probs, uniform) {
  const r = uniform();
  let acc = 0;
  for (let i = 0; i < probs.length; i++) {
    acc += probs[i];
    if (r < acc) return i;
  }
  return probs.length - 1;
}

const factories = {
  gemm({ n }) {
    const a = tf.randomUniform([n, n], -1, 1, 'float32', 42);
    const b = tf.randomUniform([n, n], -1, 1, 'float32', 43);
    return {
      call() {
        const c = tf.matMul(a, b);
        c.dataSync();
        c.dispose();
      },
      dispose() { a.dispose(); b.dispose(); },
    };
  },

  cells({ cell, B, T, D, H, V }) {
    const layer = recurrentLayer(cell, H);
    const head = V ? tf.layers.dense({ units: V }) : null;
    const x = tf.variable(tf.randomNormal([B, T, D], 0, 1, 'float32', 42));
    const uniform = lcg(42);
    const targets = V
      ? tf.tidy(() => tf.oneHot(tf.tensor2d(Array.from({ length: B }, () => Array.from({ length: T }, () => Math.floor(uniform() * V))), [B, T], 'int32'), V).toFloat())
      : null;
    tf.tidy(() => (head ? head.apply(layer.apply(x)) : layer.apply(x))); // builds the weights
    const vars = [...layer.trainableWeights, ...(head ? head.trainableWeights : [])].map((w) => w.read());
    vars.push(x);
    const loss = () => {
      const out = layer.apply(x);
      if (!head) return out.sum();
      return tf.losses.softmaxCrossEntropy(targets, head.apply(out), undefined, undefined, tf.Reduction.SUM);
    };
    return {
      call() {
        tf.tidy(() => {
          const { value } = tf.variableGrads(loss, vars);
          value.dataSync();
        });
      },
      dispose() { x.dispose(); targets?.dispose(); layer.dispose(); head?.dispose(); },
    };
  },

  train({ cell, B, T, D, H, V }) {
    // The embedding is a bias-free dense layer on one-hot inputs (the same lookup, as a product): the
    // wasm backend has no UnsortedSegmentSum, which tf.layers.embedding's gradient needs.
    const model = tf.sequential();
    model.add(tf.layers.dense({ units: D, useBias: false, inputShape: [T, V] }));
    model.add(recurrentLayer(cell, H));
    model.add(tf.layers.timeDistributed({ layer: tf.layers.dense({ units: V, activation: 'softmax' }) }));
    model.compile({ optimizer: tf.train.sgd(0.1), loss: 'categoricalCrossentropy' });
    const uniform = lcg(42);
    const ids = () => Array.from({ length: B }, () => Array.from({ length: T }, () => Math.floor(uniform() * V)));
    const x = tf.tidy(() => tf.oneHot(tf.tensor2d(ids(), [B, T], 'int32'), V).toFloat());
    const y = tf.tidy(() => tf.oneHot(tf.tensor2d(ids(), [B, T], 'int32'), V).toFloat());
    return {
      async call() {
        await model.trainOnBatch(x, y);
      },
      dispose() { x.dispose(); y.dispose(); model.dispose(); },
    };
  },

  sample({ cell, D, H, V, tokens }) {
    const G = GATES[cell];
    if (!G) throw new Error(`tfjs peer: unknown cell '${cell}'`);
    const init = (shape, seed) => tf.randomUniform(shape, -1 / Math.sqrt(H), 1 / Math.sqrt(H), 'float32', seed);
    const emb = init([V, D], 1), wx = init([D, G * H], 2), wh = init([H, G * H], 3);
    const bx = init([G * H], 4), bh = init([G * H], 5), wy = init([H, V], 6), by = init([V], 7);
    const weights = [emb, wx, wh, bx, bh, wy, by];
    const uniform = lcg(7);

    /** One step: returns [h, c, probs] (c unused except for the LSTM). */
    function step(token, h, c) {
      return tf.tidy(() => {
        const x = tf.gather(emb, tf.tensor1d([token], 'int32'));
        if (cell === 'rnn') {
          const h2 = tf.tanh(tf.add(tf.add(tf.matMul(x, wx), bx), tf.add(tf.matMul(h, wh), bh)));
          return [h2, c.clone(), tf.softmax(tf.add(tf.matMul(h2, wy), by))];
        }
        if (cell === 'lstm') {
          const z = tf.add(tf.add(tf.matMul(x, wx), tf.matMul(h, wh)), tf.add(bx, bh));
          const [i, f, g, o] = tf.split(z, 4, 1);
          const c2 = tf.add(tf.mul(tf.sigmoid(f), c), tf.mul(tf.sigmoid(i), tf.tanh(g)));
          const h2 = tf.mul(tf.sigmoid(o), tf.tanh(c2));
          return [h2, c2, tf.softmax(tf.add(tf.matMul(h2, wy), by))];
        }
        // GRU, PyTorch's form: n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
        const [rx, ux, nx] = tf.split(tf.add(tf.matMul(x, wx), bx), 3, 1);
        const [rh, uh, nh] = tf.split(tf.add(tf.matMul(h, wh), bh), 3, 1);
        const r = tf.sigmoid(tf.add(rx, rh));
        const u = tf.sigmoid(tf.add(ux, uh));
        const n = tf.tanh(tf.add(nx, tf.mul(r, nh)));
        const h2 = tf.add(tf.mul(tf.sub(1, u), n), tf.mul(u, h));
        return [h2, c.clone(), tf.softmax(tf.add(tf.matMul(h2, wy), by))];
      });
    }

    return {
      call() {
        let h = tf.zeros([1, H]), c = tf.zeros([1, H]);
        let token = 0;
        for (let t = 0; t < tokens; t++) {
          const [h2, c2, probs] = step(token, h, c);
          token = sampleFrom(probs.dataSync(), uniform);
          h.dispose(); c.dispose(); probs.dispose();
          h = h2; c = c2;
        }
        h.dispose(); c.dispose();
      },
      dispose() { for (const w of weights) w.dispose(); },
    };
  },
};

export async function createPeer() {
  const backends = [];
  for (const name of BACKENDS) {
    try {
      if (await tf.setBackend(name)) backends.push(name);
    } catch {
      // a backend that cannot start is left out of the rows
    }
  }
  if (backends.length === 0) throw new Error('no TensorFlow.js backend could start');
  let simd = 'unknown';
  if (backends.includes('wasm')) {
    await tf.setBackend('wasm');
    simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) ? 'SIMD' : 'no SIMD';
  }
  return {
    name: 'tfjs',
    versions: [`@tensorflow/tfjs ${tf.version.tfjs} (${backends.map((b) => (b === 'wasm' ? `wasm ${simd}` : b)).join(', ')})`],
    async workloads(benchCase) {
      const make = factories[benchCase.suite];
      // no char-LM workload here, and one thread only (the train suite's --threads rows above 1 are not ours)
      if (!make || benchCase.params.model !== undefined || (benchCase.params.threads ?? 1) > 1) return [];
      const out = [];
      for (const backend of backends) {
        await tf.setBackend(backend);
        const work = make(benchCase.params);
        out.push({
          impl: `tfjs ${backend}`,
          ours: false,
          before: () => tf.setBackend(backend),
          async run(reps) {
            const cpu0 = process.cpuUsage();
            const t0 = performance.now();
            for (let i = 0; i < reps; i++) await work.call();
            const wallMs = performance.now() - t0;
            const cpu = process.cpuUsage(cpu0);
            return { wallMs, cpuMs: (cpu.user + cpu.system) / 1000 };
          },
          async dispose() {
            await tf.setBackend(backend);
            work.dispose();
          },
        });
      }
      return out;
    },
  };
}

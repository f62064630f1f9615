#!/usr/bin/env node
// ort_bench.js - run an ONNX model (from build/tools/keras2onnx) in ONNX Runtime's CPU
// provider: time the forward pass like bench_forward does (warm-up, then the median of
// --runs runs) and optionally dump the outputs for an agreement check.
//
//   node bench/ort_bench.js --model M.onnx [--threads N] [--batch B] [--runs R]
//        [--warmup W] [--input F.f32] [--shape H,W,C] [--dump OUT.f32]
//        [--compare REF.f32 [--tol T]] [--json]
//
// Input: --input is raw little-endian float32 holding one sample (repeated over the
// batch) or the whole batch; without it, the same deterministic pseudo-random values
// bench_forward uses (an LCG, value = ((r >> 8) & 0xffff) / 65535), so both programs
// see identical inputs.  --shape gives the per-sample shape when the model's is
// symbolic.  --dump writes every output, in order, as raw float32.  --compare reads
// another runtime's outputs for the same input (bench_forward --dump) and reports
// max |a - b| / max |ref|; above --tol (default 1e-4) the exit status is 4.
// onnxruntime-node is looked up in $ORT_NODE_MODULES, then build/ort/node_modules
// (scripts/ort_setup.sh installs it there).
'use strict';
const fs = require('fs');
const path = require('path');

function usage(msg) {
    if (msg) console.error(`ort_bench: ${msg}`);
    console.error('usage: ort_bench.js --model M.onnx [--threads N] [--batch B] [--runs R] [--warmup W] ' +
                  '[--input F.f32] [--shape H,W,C] [--dump OUT.f32] [--compare REF.f32 [--tol T]] [--json]');
    process.exit(2);
}

function parseArgs(argv) {
    const o = {threads: 1, batch: 1, runs: 10, warmup: 2, json: false, tol: 1e-4};
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i], v = argv[i + 1];
        if (a === '--json') { o.json = true; continue; }
        if (v === undefined) usage(`${a} needs a value`);
        i++;
        switch (a) {
        case '--model': o.model = v; break;
        case '--threads': o.threads = parseInt(v, 10); break;
        case '--batch': o.batch = parseInt(v, 10); break;
        case '--runs': o.runs = parseInt(v, 10); break;
        case '--warmup': o.warmup = parseInt(v, 10); break;
        case '--input': o.input = v; break;
        case '--shape': o.shape = v.split(',').map(x => parseInt(x, 10)); break;
        case '--dump': o.dump = v; break;
        case '--compare': o.compare = v; break;
        case '--tol': o.tol = parseFloat(v); break;
        default: usage(`unknown option ${a}`);
        }
    }
    if (!o.model) usage('--model is required');
    for (const k of ['threads', 'batch', 'runs'])
        if (!(o[k] >= 1)) usage(`--${k} must be a positive integer`);
    if (!(o.warmup >= 0)) usage('--warmup must be >= 0');
    return o;
}

function loadOrt() {
    const dirs = [process.env.ORT_NODE_MODULES, path.join(__dirname, '..', 'build', 'ort', 'node_modules')];
    for (const d of dirs) {
        if (!d) continue;
        const p = path.join(d, 'onnxruntime-node');
        if (fs.existsSync(p)) return require(p);
    }
    console.error('ort_bench: onnxruntime-node not found (run scripts/ort_setup.sh, or set ORT_NODE_MODULES)');
    process.exit(3);
}

function lcgInput(n) {
    const x = new Float32Array(n);
    let r = 1;
    for (let i = 0; i < n; i++) {
        r = (Math.imul(r, 1664525) + 1013904223) >>> 0;
        x[i] = ((r >>> 8) & 0xffff) / 65535;
    }
    return x;
}

function readInput(file, per, batch) {
    const buf = fs.readFileSync(file);
    if (buf.length % 4) usage(`${file}: size ${buf.length} is not a multiple of 4`);
    const v = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
    if (v.length === per * batch) return v;
    if (v.length !== per) usage(`${file}: ${v.length} values, expected ${per} (one sample) or ${per * batch}`);
    const x = new Float32Array(per * batch);
    for (let b = 0; b < batch; b++) x.set(v, b * per);
    return x;
}

async function main() {
    const o = parseArgs(process.argv.slice(2));
    const ort = loadOrt();
    const session = await ort.InferenceSession.create(o.model, {
        intraOpNumThreads: o.threads, interOpNumThreads: 1, executionMode: 'sequential',
        graphOptimizationLevel: 'all',
    });
    if (session.inputNames.length !== 1) usage('models with one input only');
    const meta = session.inputMetadata && session.inputMetadata[0];
    let shape = o.shape;
    if (!shape && meta && meta.shape) shape = meta.shape.slice(1);
    if (!shape || shape.some(d => typeof d !== 'number' || d < 1))
        usage(`the model's input shape is symbolic (${JSON.stringify(shape)}): pass --shape`);
    const per = shape.reduce((a, b) => a * b, 1);
    const data = o.input ? readInput(o.input, per, o.batch) : lcgInput(per * o.batch);
    const feeds = {[session.inputNames[0]]: new ort.Tensor('float32', data, [o.batch, ...shape])};
    let out;
    for (let i = 0; i < o.warmup; i++) out = await session.run(feeds);
    const t = [];
    for (let i = 0; i < o.runs; i++) {
        const t0 = process.hrtime.bigint();
        out = await session.run(feeds);
        t.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    t.sort((a, b) => a - b);
    const med = t[Math.floor(o.runs / 2)];
    const parts = session.outputNames.map(n => Buffer.from(out[n].data.buffer, out[n].data.byteOffset,
                                                           out[n].data.byteLength));
    const all = Buffer.concat(parts);
    if (o.dump) fs.writeFileSync(o.dump, all);
    let agree = null;
    if (o.compare) {
        const ref = fs.readFileSync(o.compare);
        if (ref.length !== all.length) {
            console.error(`ort_bench: ${o.compare} has ${ref.length / 4} values, ORT produced ${all.length / 4}`);
            process.exit(4);
        }
        let maxDiff = 0, maxRef = 0;
        for (let i = 0; i < all.length; i += 4) {
            const a = all.readFloatLE(i), b = ref.readFloatLE(i);
            maxDiff = Math.max(maxDiff, Math.abs(a - b));
            maxRef = Math.max(maxRef, Math.abs(b));
            if (Number.isNaN(a) !== Number.isNaN(b)) maxDiff = Infinity;
        }
        agree = {max_abs_diff: maxDiff, max_abs_ref: maxRef, relative: maxDiff / (maxRef || 1)};
        agree.ok = agree.relative <= o.tol;
    }
    const res = {model: o.model, threads: o.threads, batch: o.batch, runs: o.runs, median_ms: med,
                 ms_per_image: med / o.batch, min_ms: t[0], max_ms: t[t.length - 1],
                 outputs: session.outputNames.map(n => ({name: n, dims: out[n].dims})), agree};
    if (o.json) {
        console.log(JSON.stringify(res));
    } else {
        console.log(`ort        batch ${o.batch} threads ${o.threads} runs ${o.runs} median ${med.toFixed(2)} ms ` +
                    `(${(med / o.batch).toFixed(2)} ms/image)  min ${t[0].toFixed(2)} max ${t[t.length - 1].toFixed(2)}`);
        if (agree)
            console.log(`agreement with ${o.compare}: max abs diff ${agree.max_abs_diff.toExponential(2)}, ` +
                        `relative ${agree.relative.toExponential(2)} (tolerance ${o.tol}) ${agree.ok ? 'OK' : 'FAIL'}`);
    }
    if (agree && !agree.ok) process.exit(4);
}

main().catch(e => { console.error(`ort_bench: ${e.message}`); process.exit(1); });

#!/usr/bin/env node
// faceapi_bench.js - face-api's own pipeline, timed like bench/faces_speed.c times
// facenet-c's: @vladmandic/face-api 1.7.15 (dist/face-api.node-wasm.js) on the
// TensorFlow.js wasm backend 4.22.0,
//   detectAllFaces(img, new SsdMobilenetv1Options({minConfidence: 0.5}))
//       .withFaceLandmarks().withFaceDescriptors()
// (SSD MobileNetV1, the full 68-point landmark net, a descriptor for every face).
//
//   node bench/faceapi_bench.js --rgb FILE [--mode photo|list] [--threads N]
//        [--runs R] [--warmup W] [--check] [--json]
//
// Input: FILE written by `faces_speed --dump-rgb` (the engine's decoder, Pillow's
// pixels, so both engines see the same bytes): per image "FNRGB1\n", width, height,
// name length (uint32 LE), name, width x height x 3 RGB bytes.  Each image becomes an
// int32 [H, W, 3] tensor, as face-api's golden data was made.
// --mode photo (default when FILE holds one image): W warm-up runs (default 1), then
//   R runs (default 11) of the pipeline on the first image; prints the median.
// --mode list (default for several images): one warm-up on the first image, then
//   every image once; prints photos/s over the sum of the per-photo times (tensor
//   creation + pipeline + reading the results), the median per photo, the process's
//   CPU time per photo, the images with a face and the faces found.
// --check: also print the faces found per image as JSON lines (for a smoke test).
// The last line of a timing run is machine-readable: "result key=value ...".
//
// Threads: TensorFlow.js 4.22 turns the wasm backend's threads off in Node
// (WASM_HAS_MULTITHREAD_SUPPORT is false when IS_NODE, tfjs issue #3830), so
// --threads 1 (the default) is the stock setup: the SIMD build, one thread.  With
// --threads N > 1 this script loads the threaded SIMD build anyway: it sets that flag,
// and, since the backend hands Emscripten its pthread worker and main script as Blob
// URLs that Node's worker_threads cannot load, it writes both to a temporary folder
// and passes their paths instead (the worker script is patched to import the main
// script from that path; the main script gets the module-level requires of the
// tfjs bundle it refers to).  Then setThreadsCount(N); the count XNNPACK reports
// (getThreadsCount) and the wasm binary used are printed, so the run says what it used.
//
// Modules: $FACEAPI_NODE_MODULES, else build/faceapi/node_modules
// (scripts/faceapi_setup.sh installs them there).
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');

function usage(msg) {
    if (msg) console.error(`faceapi_bench: ${msg}`);
    console.error('usage: faceapi_bench.js --rgb FILE [--mode photo|list] [--threads N] [--runs R] ' +
                  '[--warmup W] [--check] [--json]');
    process.exit(2);
}

function parseArgs(argv) {
    const o = {threads: 1, runs: 11, warmup: 1, check: false, json: false};
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i], v = argv[i + 1];
        if (a === '--check') { o.check = true; continue; }
        if (a === '--json') { o.json = true; continue; }
        if (v === undefined) usage(`${a} needs a value`);
        i++;
        switch (a) {
        case '--rgb': o.rgb = v; break;
        case '--mode': o.mode = v; break;
        case '--threads': o.threads = Number(v); break;
        case '--runs': o.runs = Number(v); break;
        case '--warmup': o.warmup = Number(v); break;
        default: usage(`unknown option ${a}`);
        }
    }
    if (!o.rgb) usage('--rgb is required');
    if (o.mode && o.mode !== 'photo' && o.mode !== 'list') usage('--mode is photo or list');
    for (const k of ['threads', 'runs'])
        if (!(Number.isInteger(o[k]) && o[k] >= 1)) usage(`--${k} must be a positive integer`);
    if (!(Number.isInteger(o.warmup) && o.warmup >= 0)) usage('--warmup must be >= 0');
    return o;
}

function readImages(file) {
    const buf = fs.readFileSync(file);
    const imgs = [];
    const magic = Buffer.from('FNRGB1\n');
    let p = 0;
    while (p < buf.length) {
        if (p + 19 > buf.length || !buf.subarray(p, p + 7).equals(magic))
            throw new Error(`${file}: not an FNRGB1 record at byte ${p}`);
        const w = buf.readUInt32LE(p + 7), h = buf.readUInt32LE(p + 11), nl = buf.readUInt32LE(p + 15);
        p += 19;
        const name = buf.subarray(p, p + nl).toString('utf8');
        p += nl;
        const n = w * h * 3;
        if (w < 1 || h < 1 || p + n > buf.length) throw new Error(`${file}: ${name}: truncated`);
        imgs.push({name, w, h, rgb: buf.subarray(p, p + n)});
        p += n;
    }
    if (!imgs.length) throw new Error(`${file}: no image`);
    return imgs;
}

function modulesDir() {
    const d = process.env.FACEAPI_NODE_MODULES || path.join(__dirname, '..', 'build', 'faceapi', 'node_modules');
    if (!fs.existsSync(path.join(d, '@vladmandic', 'face-api'))) {
        console.error(`faceapi_bench: @vladmandic/face-api not found in ${d} (run scripts/faceapi_setup.sh, or set FACEAPI_NODE_MODULES)`);
        process.exit(3);
    }
    return d;
}

// Let the threaded SIMD build start its pthreads under Node (see the header).
function nodeThreadsWorkaround(tf) {
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faceapi-wasm-'));
    process.on('exit', () => fs.rmSync(dir, {recursive: true, force: true}));
    const mainJs = path.join(dir, 'main.js'), workerJs = path.join(dir, 'worker.js');
    // the factory's source refers to these module-level names of the tfjs bundle
    const writeMain = (src) => fs.writeFileSync(mainJs, "var require$$0 = require('fs'), " +
        "require$$1 = require('path'), require$$3 = require('perf_hooks'), require$$4 = require('os'), " +
        'commonjsGlobal = globalThis;\n' + src);
    const NodeBlob = globalThis.Blob;
    class SourceBlob extends NodeBlob {
        constructor(parts, opts) {
            super(parts, opts);
            this.source = parts.every(x => typeof x === 'string') ? parts.join('') : null;
            // the main script is posted to the workers as this Blob: keep it as a file
            if (this.source && this.source.startsWith('var WasmBackendModuleThreadedSimd'))
                writeMain(this.source);
        }
    }
    globalThis.Blob = SourceBlob;
    const createObjectURL = URL.createObjectURL;
    URL.createObjectURL = (blob) => {
        const s = blob && blob.source;
        if (s && s.startsWith('var WasmBackendModuleThreadedSimd')) return mainJs;
        if (s && s.includes('WasmBackendModuleThreadedSimd(Module)')) {
            const from = 'if(typeof e.data.urlOrBlob=="string"){importScripts(e.data.urlOrBlob)}else{var objectUrl=URL.createObjectURL(e.data.urlOrBlob);importScripts(objectUrl);URL.revokeObjectURL(objectUrl)}';
            if (!s.includes(from)) throw new Error('tfjs wasm worker script: unexpected contents (not 4.22.0?)');
            fs.writeFileSync(workerJs, s.replace(from, `importScripts(${JSON.stringify(mainJs)});`));
            return workerJs;
        }
        return createObjectURL.call(URL, blob);
    };
}

async function setup(threads) {
    const dir = modulesDir();
    const tf = require(path.join(dir, '@tensorflow', 'tfjs'));
    const wasm = require(path.join(dir, '@tensorflow', 'tfjs-backend-wasm'));
    const faceapi = require(path.join(dir, '@vladmandic', 'face-api', 'dist', 'face-api.node-wasm.js'));
    const cpus = os.cpus;
    if (threads > 1) {
        nodeThreadsWorkaround(tf);
        // the backend caps its threads at half the logical cores (it assumes two
        // hyper-threads a core): report twice the cores while it starts
        os.cpus = () => [...cpus.call(os), ...cpus.call(os)];
    }
    wasm.setThreadsCount(threads);
    wasm.setWasmPaths(path.join(dir, '@tensorflow', 'tfjs-backend-wasm', 'dist') + path.sep);
    // setWasmPaths with a prefix keeps the threaded build possible; a full-path map would not
    try {
        if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend did not initialise');
        await tf.ready();
    } finally {
        os.cpus = cpus;
    }
    const model = path.join(dir, '@vladmandic', 'face-api', 'model');
    await faceapi.nets.ssdMobilenetv1.loadFromDisk(model);
    await faceapi.nets.faceLandmark68Net.loadFromDisk(model);
    await faceapi.nets.faceRecognitionNet.loadFromDisk(model);
    const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    const mt = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
    const info = {
        faceapi: faceapi.version, tfjs: tf.version_core, backend: tf.getBackend(), node: process.version,
        simd, wasm_binary: mt && simd ? 'tfjs-backend-wasm-threaded-simd.wasm' : simd ? 'tfjs-backend-wasm-simd.wasm' : 'tfjs-backend-wasm.wasm',
        threads_asked: threads, threads_used: wasm.getThreadsCount(),
    };
    return {tf, faceapi, info};
}

function median(v) {
    const s = [...v].sort((a, b) => a - b), n = s.length;
    return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

async function main() {
    const o = parseArgs(process.argv.slice(2));
    const imgs = readImages(o.rgb);
    const mode = o.mode || (imgs.length === 1 ? 'photo' : 'list');
    const {tf, faceapi, info} = await setup(o.threads);
    const options = new faceapi.SsdMobilenetv1Options({minConfidence: 0.5});
    // one photo through the pipeline; returns the faces (descriptors read back)
    async function pipeline(img) {
        const t = tf.tensor3d(new Int32Array(img.rgb), [img.h, img.w, 3], 'int32');
        try {
            return await faceapi.detectAllFaces(t, options).withFaceLandmarks().withFaceDescriptors();
        } finally {
            t.dispose();
            lastProgress = Date.now();
        }
    }
    const now = () => Number(process.hrtime.bigint()) / 1e6;
    const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e3; };
    const result = {mode, ...info};
    if (mode === 'photo') {
        const img = imgs[0];
        let faces = 0;
        for (let i = 0; i < o.warmup; i++) faces = (await pipeline(img)).length;
        const ms = [], cms = [];
        for (let r = 0; r < o.runs; r++) {
            const t0 = now(), c0 = cpu();
            faces = (await pipeline(img)).length;
            ms.push(now() - t0);
            cms.push(cpu() - c0);
        }
        Object.assign(result, {image: img.name, width: img.w, height: img.h, faces, runs: o.runs,
                               ms: median(ms), cpu_ms: median(cms)});
        if (!o.json)
            console.log(`${img.name} (${img.w}x${img.h}, ${faces} faces), ${o.runs} runs, face-api ${info.faceapi} ` +
                        `tfjs ${info.tfjs} ${info.backend} (${info.wasm_binary}, ${info.threads_used} thread(s)): ` +
                        `median ${result.ms.toFixed(1)} ms (CPU time of the process ${result.cpu_ms.toFixed(1)} ms)`);
    } else {
        await pipeline(imgs[0]); // warm-up
        const ms = [];
        let withFace = 0, faces = 0, cpuMs = 0;
        for (const img of imgs) {
            const t0 = now(), c0 = cpu();
            const res = await pipeline(img);
            ms.push(now() - t0);
            cpuMs += cpu() - c0;
            withFace += res.length > 0;
            faces += res.length;
            if (o.check)
                console.log(JSON.stringify({image: img.name, faces: res.length,
                                            scores: res.map(f => +f.detection.score.toFixed(4))}));
        }
        const total = ms.reduce((a, b) => a + b, 0) / 1e3;
        Object.assign(result, {images: imgs.length, with_face: withFace, faces, seconds: total,
                               cpu_ms: cpuMs / imgs.length,
                               photos_per_s: imgs.length / total, median_ms: median(ms)});
        if (!o.json)
            console.log(`${imgs.length} images (${withFace} with a face, ${faces} faces): ` +
                        `${total.toFixed(1)} s, ${result.photos_per_s.toFixed(2)} images/s, median ` +
                        `${result.median_ms.toFixed(1)} ms an image; face-api ${info.faceapi} tfjs ${info.tfjs} ` +
                        `${info.backend} (${info.wasm_binary}, ${info.threads_used} thread(s))`);
    }
    if (o.json) console.log(JSON.stringify(result));
    else console.log('result ' + Object.entries(result)
        .map(([k, v]) => `${k}=${typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(3) : String(v).replace(/\s/g, '_')}`)
        .join(' '));
    finished = true;
    process.exit(0); // the threaded build's workers would keep Node alive
}

// The threaded build's pthread workers are unref'd: with nothing else pending, Node
// could end the process (status 0, nothing printed) while main() still awaits a result.
// A timer keeps the event loop alive, and an early end is reported as a failure.
// The threaded build can also stall (no CPU used, the awaited result never comes): a
// photo that takes longer than STALL_S seconds (default 120) ends the run with status 4.
let finished = false, lastProgress = Date.now();
const stallS = Number(process.env.STALL_S || 120);
const keepAlive = setInterval(() => {
    if (Date.now() - lastProgress > stallS * 1e3) {
        console.error(`faceapi_bench: no photo finished in ${stallS} s (the wasm backend stalled)`);
        finished = true;
        process.exit(4);
    }
}, 1000);
process.on('exit', (code) => {
    if (!finished && code === 0) {
        console.error('faceapi_bench: the process ended before the benchmark finished');
        process.exitCode = 1;
    }
});

main().then(() => { finished = true; clearInterval(keepAlive); }).catch(e => {
    console.error(`faceapi_bench: ${e && e.message ? e.message : e}`);
    process.exit(1);
});

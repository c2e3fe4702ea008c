// Render audio through Neural Amp Modeler's C++ core (NeuralAmpModelerCore, compiled to
// WebAssembly by @opendaw/nam-wasm), as a browser's AudioWorklet would run it.
//
//   node tests/nam_wasm/render.mjs MODEL.nam INPUT.f32 OUTPUT.f32
//
// INPUT.f32 / OUTPUT.f32: raw little-endian float32 mono samples, no header. The output has the
// input's length. The engine is fed 128-sample blocks (Web Audio's render quantum; the package's
// default buffer) at the sample rate the .nam file names, so it runs the model as recorded.
//
// What the engine does besides the network (read from the package's C wrapper, nam_loadModel):
// it switches NAM's fast tanh approximation on (globally, with no way to switch it off), then
// Reset()s the model and prewarm()s it (feeds it silence, so a recurrent state starts settled on
// silence rather than at the file's initial state). It applies no input/output gain and no loudness normalisation (a file's
// `loudness` metadata is only reported). Exit status 0, or 1 with a message on stderr.

import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

import { NamWasmModule, createNamModule } from "@opendaw/nam-wasm";

const BLOCK = 128;

function fail(message) {
  process.stderr.write(`render.mjs: ${message}\n`);
  process.exit(1);
}

const [modelPath, inputPath, outputPath] = process.argv.slice(2);
if (!outputPath) fail("usage: node render.mjs MODEL.nam INPUT.f32 OUTPUT.f32");

// The Emscripten glue fetches nam.wasm by URL, which Node cannot do for a file: hand it the bytes.
const require = createRequire(import.meta.url);
const dist = dirname(require.resolve("@opendaw/nam-wasm/nam.wasm"));
const wasmBinary = readFileSync(join(dist, "nam.wasm"));
const nam = NamWasmModule.fromModule(await createNamModule({ wasmBinary }), BLOCK);

const modelJson = readFileSync(modelPath, "utf8");
const sampleRate = JSON.parse(modelJson).sample_rate;
if (!sampleRate) fail(`${modelPath} names no sample_rate`);
nam.setSampleRate(sampleRate);
const id = nam.createInstance();
// A file the core refuses (an unknown architecture, an unsupported version) makes get_dsp throw a
// C++ exception, which this build does not catch: it reaches here as a bare number.
let loaded = false;
try {
  loaded = nam.loadModel(id, modelJson);
} catch (e) {
  fail(`NAM's core refused ${modelPath} (a C++ exception in get_dsp: ${e})`);
}
if (!loaded) fail(`NAM's core refused ${modelPath}`);

const bytes = readFileSync(inputPath);
const input = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
const output = new Float32Array(input.length);
for (let start = 0; start < input.length; start += BLOCK) {
  const end = Math.min(start + BLOCK, input.length);
  nam.process(id, input.subarray(start, end), output.subarray(start, end));
}
nam.destroyInstance(id);
nam.dispose();
writeFileSync(outputPath, Buffer.from(output.buffer));

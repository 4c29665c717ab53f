// Run a TensorFlow.js graph model on a raw float32 NHWC batch with the tfjs CPU backend.
// usage: node golden_tfjs.mjs MODEL_JSON OUTPUT_NODE INPUT_F32 N H W C OUTPUT_F32
// Called by golden_tflite_tfjs.py from a copy next to its own node_modules.
import * as tf from '@tensorflow/tfjs';
import fs from 'node:fs';
import path from 'node:path';

const [modelJson, outputNode, inputFile, n, h, w, c, outputFile] = process.argv.slice(2);
await tf.setBackend('cpu');
const spec = JSON.parse(fs.readFileSync(modelJson));
const weightSpecs = spec.weightsManifest.flatMap((g) => g.weights);
const shards = spec.weightsManifest.flatMap((g) => g.paths.map((p) => fs.readFileSync(path.join(path.dirname(modelJson), p))));
const blob = Buffer.concat(shards);
const weightData = blob.buffer.slice(blob.byteOffset, blob.byteOffset + blob.byteLength);
const model = await tf.loadGraphModel(tf.io.fromMemory({ modelTopology: spec.modelTopology, weightSpecs, weightData }));
const raw = fs.readFileSync(inputFile);
const x = tf.tensor4d(new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4), [+n, +h, +w, +c]);
const y = model.execute(x, outputNode);
fs.writeFileSync(outputFile, Buffer.from((await y.data()).buffer));
console.log(`tfjs ${tf.version.tfjs} (${tf.getBackend()} backend), node ${process.version}`);

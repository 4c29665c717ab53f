// Human's attribute pipeline in TensorFlow.js (CPU backend): preprocessing as human 3.x emotion.ts, gender.ts,
// gear.ts and ssrnet.ts write it, then the graph model; on a raw float32 NHWC batch of RGB [0, 1] face crops.
// usage: node golden_attributes.mjs MODELS_DIR INPUT_F32 N H W OUTPUT_PREFIX
// Writes OUTPUT_PREFIX.<model>.f32 for emotion, gender, age and gear (race, gender, age bins concatenated).
// Called by golden_attributes.py from a copy next to its own node_modules.
import * as tf from '@tensorflow/tfjs';
import fs from 'node:fs';
import path from 'node:path';

const [dir, inputFile, n, h, w, prefix] = process.argv.slice(2);
await tf.setBackend('cpu');

async function load(name) {
  const spec = JSON.parse(fs.readFileSync(path.join(dir, `${name}.json`)));
  const weightSpecs = spec.weightsManifest.flatMap((g) => g.weights);
  const blob = Buffer.concat(spec.weightsManifest.flatMap((g) => g.paths.map((p) => fs.readFileSync(path.join(dir, p)))));
  const weightData = blob.buffer.slice(blob.byteOffset, blob.byteOffset + blob.byteLength);
  return tf.loadGraphModel(tf.io.fromMemory({ modelTopology: spec.modelTopology, weightSpecs, weightData }));
}

function grayCentred(image, size) { // emotion.ts / gender.ts
  const resize = tf.image.resizeBilinear(image, [size, size], false);
  const [red, green, blue] = tf.split(resize, 3, 3);
  const gray = tf.addN([tf.mul(red, 0.2989), tf.mul(green, 0.5870), tf.mul(blue, 0.1140)]);
  return tf.mul(tf.sub(gray, 0.5), 2);
}

const raw = fs.readFileSync(inputFile);
const x = tf.tensor4d(new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4), [+n, +h, +w, 3]);
const save = async (name, t) => fs.writeFileSync(`${prefix}.${name}.f32`, Buffer.from((await t.data()).buffer));

await save('emotion', (await load('emotion')).execute(grayCentred(x, 64)));
await save('gender', (await load('gender')).execute(grayCentred(x, 64)));
await save('age', (await load('age')).execute(tf.mul(tf.image.resizeBilinear(x, [64, 64], false), 255))); // ssrnet.ts
const boxes = tf.tensor2d(Array.from({ length: +n }, () => [0.0, 0.10, 0.90, 0.90])); // gear.ts
const crops = tf.image.cropAndResize(x, boxes, Array.from({ length: +n }, (_, i) => i), [198, 198]);
const [race, gender, age] = (await load('gear')).execute(crops, ['Identity_2', 'Identity_1', 'Identity']);
await save('gear', tf.concat([race, gender, age], 1));
console.log(`tfjs ${tf.version.tfjs} (${tf.getBackend()} backend), node ${process.version}`);

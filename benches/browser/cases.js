// The benchmark cases, shared by the Node runner, the page and the engine workers: the same models,
// sizes and input as benches/native.rs.

export const CASES = [
  { model: 'u2netp', inputs: [{ name: 'input.1', shape: [1, 3, 320, 320] }], outputs: ['1959'] },
  { model: 'isnet-medium', inputs: [{ name: 'input', shape: [1, 3, 1024, 1024] }], outputs: ['output'] },
  { model: 'ppocrv6-tiny-det', inputs: [{ name: 'x', shape: [1, 3, 960, 960] }], outputs: ['fetch_name_0'] },
  { model: 'ppocrv6-tiny-rec', inputs: [{ name: 'x', shape: [8, 3, 48, 320] }], outputs: ['fetch_name_0'] },
  {
    model: 'multistyle26',
    inputs: [
      { name: 'image', shape: [1, 3, 512, 512] },
      { name: 'style_weights', shape: [26] },
    ],
    outputs: ['stylized'],
  },
];

/** A smooth, deterministic image-like input in [-1, 1], or a one-hot style vector. */
export function benchInput(name, shape) {
  const length = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(length);
  if (name === 'style_weights') {
    data[3] = 1;
    return data;
  }
  for (let i = 0; i < length; i++) {
    data[i] = Math.min(1, Math.max(-1, Math.sin(i * 0.013) * Math.cos(i * 0.00071)));
  }
  return data;
}

/**
 * A tiny ONNX linear model `y = X·W + b` written as protobuf bytes by hand, so tests need no
 * Python `onnx` package. Field numbers follow onnx.proto (ModelProto, GraphProto, NodeProto, …).
 */
const varint = (n: number): number[] => {
  const out: number[] = [];
  while (n > 127) {
    out.push((n & 127) | 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
};
const field = (no: number, wire: number) => varint((no << 3) | wire);
const int = (no: number, n: number) => [...field(no, 0), ...varint(n)];
const bytes = (no: number, b: number[] | Uint8Array) => [...field(no, 2), ...varint(b.length), ...b];
const str = (no: number, s: string) => bytes(no, [...Buffer.from(s)]);

const FLOAT = 1;
const tensorType = (dims: (number | string)[]) =>
  bytes(1, [
    ...int(1, FLOAT),
    ...bytes(
      2,
      dims.flatMap((d) => bytes(1, typeof d === 'number' ? int(1, d) : str(2, d))),
    ),
  ]);
const valueInfo = (name: string, dims: (number | string)[]) => [...str(1, name), ...bytes(2, tensorType(dims))];
const initializer = (name: string, dims: number[], values: number[]) => [
  ...dims.flatMap((d) => int(1, d)),
  ...int(2, FLOAT),
  ...str(8, name),
  ...bytes(9, new Uint8Array(new Float32Array(values).buffer)),
];
const node = (op: string, inputs: string[], outputs: string[]) => [
  ...inputs.flatMap((i) => str(1, i)),
  ...outputs.flatMap((o) => str(2, o)),
  ...str(4, op),
];

/** ONNX bytes of `score = features · weights + bias` with input `features` [N × weights.length]. */
export function linearModel(weights: number[], bias: number): Uint8Array {
  const graph = [
    ...bytes(1, node('MatMul', ['features', 'W'], ['xw'])),
    ...bytes(1, node('Add', ['xw', 'B'], ['score'])),
    ...str(2, 'linear'),
    ...bytes(5, initializer('W', [weights.length, 1], weights)),
    ...bytes(5, initializer('B', [1], [bias])),
    ...bytes(11, valueInfo('features', ['N', weights.length])),
    ...bytes(12, valueInfo('score', ['N', 1])),
  ];
  return new Uint8Array([...int(1, 8), ...str(2, 'tandem-test'), ...bytes(7, graph), ...bytes(8, [...str(1, ''), ...int(2, 13)])]);
}

// The ONNX protobuf classes. `onnx-proto` is a CommonJS build of onnx.proto (protobufjs static code);
// under ESM its namespace arrives on the default export.
import onnxProto from 'onnx-proto';

export const onnx = onnxProto.onnx;
export type { onnx as OnnxTypes } from 'onnx-proto';

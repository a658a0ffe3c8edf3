// Type declarations for the DICOM packages that ship none: only the parts secondread calls.

declare module 'dcmjs' {
  interface DcmjsData {
    DicomMessage: {
      _read(stream: unknown, syntax: string, options?: Record<string, unknown>): Record<string, { vr: string; Value?: unknown[] }>;
      readFile(buffer: ArrayBuffer, options?: Record<string, unknown>): { meta: Record<string, unknown>; dict: Record<string, unknown> };
    };
    DicomMetaDictionary: {
      naturalizeDataset(dict: unknown): Record<string, unknown>;
      denaturalizeDataset(dataset: unknown): Record<string, { vr: string; Value?: unknown[] }>;
      nameMap: Record<string, { tag: string; vr: string; name: string }>;
      dictionary: Record<string, { tag: string; vr: string; name: string }>;
      uid(): string;
    };
    DicomDict: new (meta: unknown) => { dict: unknown; meta: unknown; write(options?: Record<string, unknown>): ArrayBuffer };
    ReadBufferStream: new (buffer: ArrayBuffer, littleEndian?: boolean) => unknown;
  }
  const dcmjs: { data: DcmjsData; log: { setLevel(level: string): void; getLogger(name: string): { setLevel(level: string): void } } };
  export default dcmjs;
}

declare module 'jpeg-lossless-decoder-js' {
  export class Decoder {
    decode(buffer: ArrayBuffer | ArrayBufferLike, offset?: number, length?: number, numBytes?: number): ArrayBuffer | Uint8Array | Uint16Array;
    numComp: number;
  }
}

/** The Emscripten modules of @cornerstonejs/codec-*: one decoder/encoder object per class. */
interface CornerstoneFrameInfo {
  width: number;
  height: number;
  bitsPerSample: number;
  componentCount: number;
  isSigned?: boolean;
}
interface CornerstoneDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  decode(): void;
  getFrameInfo(): CornerstoneFrameInfo;
  getDecodedBuffer(): Uint8Array;
  delete(): void;
}
interface CornerstoneEncoder {
  getDecodedBuffer(info: CornerstoneFrameInfo): Uint8Array;
  encode(): void;
  getEncodedBuffer(): Uint8Array;
  setNearLossless?(error: number): void;
  setQuality?(lossless: boolean, quality: number): void;
  delete(): void;
}
type CornerstoneCodecFactory = (options?: Record<string, unknown>) => Promise<Record<string, new () => CornerstoneDecoder & CornerstoneEncoder>>;

declare module '@cornerstonejs/codec-charls/wasmjs' {
  const factory: CornerstoneCodecFactory;
  export default factory;
}
declare module '@cornerstonejs/codec-openjpeg/wasmjs' {
  const factory: CornerstoneCodecFactory;
  export default factory;
}
declare module '@cornerstonejs/codec-libjpeg-turbo-8bit/wasmjs' {
  const factory: CornerstoneCodecFactory;
  export default factory;
}

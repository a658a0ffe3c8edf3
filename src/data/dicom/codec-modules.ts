// The codec WebAssembly modules, instantiated once per process and shared by decoding and encoding
// (an Emscripten/embind module cannot be instantiated twice: its names would register twice).
type CodecModule = Record<string, new () => CornerstoneDecoder & CornerstoneEncoder>;
export type CodecPackage = 'charls' | 'openjpeg' | 'libjpeg-turbo-8bit';

const modules = new Map<CodecPackage, Promise<CodecModule>>();

export function codecModule(name: CodecPackage): Promise<CodecModule> {
  let m = modules.get(name);
  if (!m) {
    const load =
      name === 'charls'
        ? import('@cornerstonejs/codec-charls/wasmjs')
        : name === 'openjpeg'
          ? import('@cornerstonejs/codec-openjpeg/wasmjs')
          : import('@cornerstonejs/codec-libjpeg-turbo-8bit/wasmjs');
    // A fresh options object each time: Emscripten turns it into the module object itself, so two
    // codecs given the same object would register their bindings on one another. print/printErr
    // are silenced (OpenJPEG reports progress on stdout).
    m = load.then((mod) => mod.default({ print: () => {}, printErr: () => {} }) as Promise<CodecModule>);
    modules.set(name, m);
  }
  return m;
}

#!/usr/bin/env bash
# Regenerates src/data/dicom/testdata: DICOM files encoded by DCMTK (an independent encoder), for the
# syntaxes JavaScript cannot encode (JPEG lossless process 14 and SV1) and as a cross-check of ours
# (RLE, JPEG-LS). Source: a 64×48 12-bit ramp written by src/data/dicom/write.ts (ramp16()).
# Needs dcmtk (apt-get install dcmtk). The files are committed so `npm test` does not need DCMTK.
set -euo pipefail
cd "$(dirname "$0")/.."
out=src/data/dicom/testdata
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/source.mts" <<TS
import { writeFileSync } from 'node:fs';
import { cxrDicom, ramp16 } from '$PWD/src/data/dicom/testing.ts';
writeFileSync('$tmp/source.dcm', await cxrDicom(ramp16()));
TS
npx tsx "$tmp/source.mts"
dcmcjpeg +e1 "$tmp/source.dcm" "$out/jpeg-lossless-sv1.dcm"
dcmcjpeg +el +sv 6 "$tmp/source.dcm" "$out/jpeg-lossless-p14.dcm"
dcmcrle "$tmp/source.dcm" "$out/rle-dcmtk.dcm"
dcmcjpls "$tmp/source.dcm" "$out/jpeg-ls-dcmtk.dcm"
dcmcjpeg +ee "$tmp/source.dcm" "$out/jpeg-extended-12bit.dcm"
dcmconv +tb "$tmp/source.dcm" "$out/big-endian-dcmtk.dcm"
ls -l "$out"

// Where the xDS protobuf types come from at run time. The bundled weftd carries the descriptor as JSON
// (the build defines __WEFT_XDS_DESCRIPTOR__ from `xdsDescriptor()`), so dist/bin/weftd needs no .proto
// files; source runs (tests, benchmarks) read the .proto files from node_modules.
import protobuf from 'protobufjs';
import type { INamespace } from 'protobufjs';
import { xdsDescriptor } from './proto-descriptor.ts';

declare const __WEFT_XDS_DESCRIPTOR__: INamespace | undefined;

let loaded: protobuf.Root | undefined;

/** The protobuf root holding every type the xDS server uses (loaded once per process). */
export function xdsProtoRoot(): protobuf.Root {
  if (!loaded) {
    const descriptor = typeof __WEFT_XDS_DESCRIPTOR__ === 'undefined' ? xdsDescriptor() : __WEFT_XDS_DESCRIPTOR__;
    loaded = protobuf.Root.fromJSON(descriptor);
    loaded.resolveAll();
  }
  return loaded;
}

// Prisma's DMMF (its parsed data model) for a schema, straight from the schema parser Prisma's CLI itself uses:
// node_modules/prisma/build/prisma_schema_build_bg.wasm (the `@prisma/prisma-schema-wasm` build, bundled into the
// CLI). `@prisma/internals` would wrap it as getDMMF but is not a dependency, so this is the small wasm-bindgen glue
// for the one call we need. If a Prisma upgrade changes the module's imports, loading fails naming the import.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** The parts of DMMF.Datamodel (see @prisma/dmmf) the schema test reads. */
export interface DmmfField {
  name: string;
  dbName?: string | null;
  kind: 'scalar' | 'object' | 'enum' | 'unsupported';
  type: string;
  isList: boolean;
  isRequired: boolean;
  hasDefaultValue: boolean;
  default?: unknown;
  nativeType?: [string, string[]] | null;
  relationFromFields?: string[];
  relationToFields?: string[];
  relationOnDelete?: string;
  relationOnUpdate?: string;
}
export interface DmmfModel {
  name: string;
  dbName: string | null;
  schema: string | null;
  fields: DmmfField[];
}
export interface DmmfIndex {
  model: string;
  type: 'id' | 'unique' | 'normal' | 'fulltext';
  dbName?: string | null;
  algorithm?: string;
  fields: { name: string; sortOrder?: string; length?: number; operatorClass?: string }[];
}
export interface DmmfEnum {
  name: string;
  dbName?: string | null;
  values: { name: string; dbName: string | null }[];
}
export interface Datamodel {
  models: DmmfModel[];
  enums: DmmfEnum[];
  indexes: DmmfIndex[];
}

// The project compiles against lib ES2023, which has no WebAssembly declarations (they live in lib.dom); these
// are the few members used here.
interface WasmTable {
  grow(delta: number): number;
  get(index: number): unknown;
  set(index: number, value: unknown): void;
}
declare const WebAssembly: {
  Module: { new (bytes: Uint8Array): object; imports(module: object): { module: string; name: string }[] };
  Instance: new (module: object, imports: object) => { exports: unknown };
};

interface SchemaWasm {
  memory: { buffer: ArrayBuffer };
  get_dmmf(ptr: number, len: number): [number, number, number, number];
  __wbindgen_start(): void;
  __wbindgen_malloc(size: number, align: number): number;
  __wbindgen_free(ptr: number, size: number, align: number): void;
  __wbindgen_externrefs: WasmTable;
  __externref_table_dealloc(index: number): void;
}

const require = createRequire(import.meta.url);
const WASM = join(dirname(require.resolve('prisma/package.json')), 'build/prisma_schema_build_bg.wasm');

let wasm: SchemaWasm | undefined;
let panicMessage: string | undefined;

const decode = (ptr: number, len: number) =>
  new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array(wasm!.memory.buffer, ptr >>> 0, len));

// wasm-bindgen names its imports `<name>_<hash>`; the hash changes between builds, the name does not.
const IMPORTS: Record<string, (...args: number[]) => unknown> = {
  __wbg_Error_: (ptr, len) => new Error(decode(ptr!, len!)),
  __wbg___wbindgen_throw_: (ptr, len) => {
    throw new Error(decode(ptr!, len!));
  },
  __wbg_set_message_: (ptr, len) => void (panicMessage = decode(ptr!, len!)), // the panic hook, before it traps
  __wbindgen_init_externref_table: () => {
    const table = wasm!.__wbindgen_externrefs;
    const at = table.grow(4);
    table.set(0, undefined);
    [undefined, null, true, false].forEach((value, i) => table.set(at + i, value));
  },
};

function loadWasm(): SchemaWasm {
  if (wasm) return wasm;
  panicMessage = undefined;
  const module = new WebAssembly.Module(readFileSync(WASM));
  const imports: Record<string, Record<string, (...args: number[]) => unknown>> = {};
  for (const { module: ns, name } of WebAssembly.Module.imports(module)) {
    const prefix = Object.keys(IMPORTS).find((p) => name.startsWith(p));
    if (!prefix) throw new Error(`${WASM} needs an import this glue does not provide: ${name}`);
    (imports[ns] ??= {})[name] = IMPORTS[prefix]!;
  }
  wasm = new WebAssembly.Instance(module, imports).exports as unknown as SchemaWasm;
  wasm.__wbindgen_start();
  return wasm;
}

/** Validation errors come as JSON (`{"error_code":"P1012","message":"..."}`); the message is what a reader wants. */
function readableMessage(raw: string): string {
  try {
    return (JSON.parse(raw) as { message?: string }).message ?? raw;
  } catch {
    return raw;
  }
}

/** Parses and validates a Prisma schema; throws Prisma's validation error for an invalid one. */
export function getDatamodel(schema: string, fileName = 'schema.prisma'): Datamodel {
  const w = loadWasm();
  const params = new TextEncoder().encode(JSON.stringify({ prismaSchema: [[fileName, schema]], noColor: true }));
  const ptr = w.__wbindgen_malloc(params.length, 1) >>> 0;
  new Uint8Array(w.memory.buffer, ptr, params.length).set(params);
  let result: [number, number, number, number];
  try {
    result = w.get_dmmf(ptr, params.length); // takes ownership of the params buffer
  } catch (err) {
    wasm = undefined; // a trapped instance is unusable; the next call loads a fresh one
    throw panicMessage ? new Error(`prisma-schema-wasm panicked: ${panicMessage}`) : err;
  }
  const [outPtr, outLen, errorRef, failed] = result;
  if (failed) {
    const error = w.__wbindgen_externrefs.get(errorRef) as Error;
    w.__externref_table_dealloc(errorRef);
    throw new Error(`invalid Prisma schema: ${readableMessage(error.message)}`);
  }
  try {
    return (JSON.parse(decode(outPtr, outLen)) as { datamodel: Datamodel }).datamodel;
  } finally {
    w.__wbindgen_free(outPtr, outLen, 1);
  }
}

// A small WebAssembly binary writer: the sections, opcodes and encodings the tree kernel needs
// (core spec + the 128-bit SIMD proposal, standard since V8 9.1), nothing more. Emitting bytes
// ourselves keeps kernel generation at load time to microseconds and needs no toolchain.

/** Value types (binary encoding). */
export const I32 = 0x7f;
export const V128 = 0x7b;
export type ValueType = typeof I32 | typeof V128;

const SECTION = { type: 1, import: 2, function: 3, export: 7, code: 10 } as const;
const EXTERNAL_KIND = { function: 0, memory: 2 } as const;
const FUNC_TYPE = 0x60;
const BLOCK_VOID = 0x40;
const SIMD_PREFIX = 0xfd;

/** Core opcodes used by the kernel. */
export const OP = {
  block: 0x02,
  loop: 0x03,
  br: 0x0c,
  brIf: 0x0d,
  brTable: 0x0e,
  end: 0x0b,
  call: 0x10,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  i32Load: 0x28,
  f32Load: 0x2a,
  f32Store: 0x38,
  i32Const: 0x41,
  i32LtU: 0x49,
  i32Add: 0x6a,
  i32Mul: 0x6c,
  i32Shl: 0x74,
  f32Add: 0x92,
} as const;

/** SIMD opcodes (after the 0xfd prefix, LEB128-encoded). */
export const SIMD = {
  v128Load: 0x00,
  v128Store: 0x0b,
  i8x16Splat: 0x0f,
  i8x16ExtractLaneU: 0x16,
  i8x16GtS: 0x27,
  v128And: 0x4e,
  v128Or: 0x50,
  v128Bitselect: 0x52,
} as const;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function name(s: string): number[] {
  const bytes = [...Buffer.from(s, 'utf8')];
  return [...uleb(bytes.length), ...bytes];
}

function vector(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

/** Natural alignment (log2 bytes) per access width, as memargs state it. */
const ALIGN = { 1: 0, 4: 2, 16: 4 } as const;

/** Appends n as unsigned LEB128 to out (no array per number: the kernel's bodies are tens of kilobytes). */
function pushUleb(out: number[], n: number): void {
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
}

/** Appends n as signed LEB128 to out. */
function pushSleb(out: number[], n: number): void {
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return;
    }
    out.push(b | 0x80);
  }
}

/** One function body under construction: parameters, extra locals and the instruction bytes. */
export class FunctionBuilder {
  readonly code: number[] = [];
  private readonly locals: ValueType[] = [];

  constructor(
    readonly params: ValueType[],
    readonly results: ValueType[],
  ) {}

  /** A new local of `type`; its index. */
  local(type: ValueType): number {
    this.locals.push(type);
    return this.params.length + this.locals.length - 1;
  }

  op(...bytes: number[]): this {
    for (const b of bytes) this.code.push(b);
    return this;
  }

  private withIndex(opcode: number, i: number): this {
    this.code.push(opcode);
    pushUleb(this.code, i);
    return this;
  }

  get(i: number): this {
    return this.withIndex(OP.localGet, i);
  }
  set(i: number): this {
    return this.withIndex(OP.localSet, i);
  }
  tee(i: number): this {
    return this.withIndex(OP.localTee, i);
  }
  i32(v: number): this {
    this.code.push(OP.i32Const);
    pushSleb(this.code, v | 0);
    return this;
  }
  call(fn: number): this {
    return this.withIndex(OP.call, fn);
  }

  /** A memory access with a constant byte offset and natural alignment for `width` bytes. */
  mem(opcode: number, width: 1 | 4, offset: number): this {
    this.code.push(opcode, ALIGN[width]);
    pushUleb(this.code, offset);
    return this;
  }

  simd(opcode: number, ...immediates: number[]): this {
    this.code.push(SIMD_PREFIX);
    pushUleb(this.code, opcode);
    for (const b of immediates) this.code.push(b);
    return this;
  }

  /** v128.load / v128.store with a constant offset. */
  v128(opcode: typeof SIMD.v128Load | typeof SIMD.v128Store, offset: number): this {
    this.code.push(SIMD_PREFIX);
    pushUleb(this.code, opcode);
    this.code.push(ALIGN[16]);
    pushUleb(this.code, offset);
    return this;
  }

  block(): this {
    return this.op(OP.block, BLOCK_VOID);
  }
  loop(): this {
    return this.op(OP.loop, BLOCK_VOID);
  }
  end(): this {
    return this.op(OP.end);
  }

  body(): number[] {
    // Locals are declared as runs of one type.
    const runs: number[][] = [];
    for (let i = 0; i < this.locals.length; ) {
      let j = i;
      while (j < this.locals.length && this.locals[j] === this.locals[i]) j++;
      runs.push([...uleb(j - i), this.locals[i]!]);
      i = j;
    }
    const head = vector(runs);
    const out = uleb(head.length + this.code.length + 1);
    for (const b of head) out.push(b);
    for (const b of this.code) out.push(b);
    out.push(OP.end);
    return out;
  }
}

/** A module that imports its memory as env.memory and exports some of its functions. */
export class ModuleBuilder {
  private readonly functions: FunctionBuilder[] = [];
  private readonly exported: { name: string; index: number }[] = [];

  /** Adds a function; its index (calls may refer to functions added later). */
  add(fn: FunctionBuilder, exportName?: string): number {
    this.functions.push(fn);
    const index = this.functions.length - 1;
    if (exportName) this.exported.push({ name: exportName, index });
    return index;
  }

  bytes(): Uint8Array {
    const section = (id: number, payload: number[][]): number[][] => [
      [id, ...uleb(payload.reduce((n, p) => n + p.length, 0))],
      ...payload,
    ];
    const types = this.functions.map((f) => [
      FUNC_TYPE,
      ...vector(f.params.map((t) => [t])),
      ...vector(f.results.map((t) => [t])),
    ]);
    // Memory limits: flag 0 = minimum only, in 64 KiB pages.
    const memoryImport = [...name('env'), ...name('memory'), EXTERNAL_KIND.memory, 0x00, ...uleb(1)];
    const bodies = this.functions.map((f) => f.body());
    const parts = [
      [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // "\0asm", version 1
      ...section(SECTION.type, [vector(types)]),
      ...section(SECTION.import, [vector([memoryImport])]),
      ...section(SECTION.function, [vector(this.functions.map((_, i) => uleb(i)))]),
      ...section(SECTION.export, [
        vector(this.exported.map((e) => [...name(e.name), EXTERNAL_KIND.function, ...uleb(e.index)])),
      ]),
      // The code section's bodies are copied once, into the result (no spread of tens of kilobytes).
      ...section(SECTION.code, [uleb(bodies.length), ...bodies]),
    ];
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

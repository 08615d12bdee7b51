// The synthetic generator's own seeded PRNG: sfc32 seeded through splitmix32. Math.random cannot
// be seeded, and a fixed algorithm in our code keeps a seed's file byte-identical across Node versions.

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spareNormal = NaN;

  /** `seed` is any safe integer; both 32-bit halves feed the state, so 1 and 2^32 + 1 differ. */
  constructor(seed: number) {
    let s = ((seed >>> 0) ^ Math.imul((Math.floor(seed / 4294967296) >>> 0) ^ 0x5bd1e995, 0x27d4eb2d)) | 0;
    const splitmix32 = (): number => {
      s = (s + 0x9e3779b9) | 0;
      let z = Math.imul(s ^ (s >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) | 0;
    };
    this.a = splitmix32();
    this.b = splitmix32();
    this.c = splitmix32();
    this.d = splitmix32();
    // sfc32's authors discard the first outputs so that similar seeds decorrelate.
    for (let i = 0; i < 12; i++) this.uint32();
  }

  uint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.uint32() / 4294967296;
  }

  /** Standard normal (Box–Muller, the second value of each pair kept for the next call). */
  normal(): number {
    if (!Number.isNaN(this.spareNormal)) {
      const z = this.spareNormal;
      this.spareNormal = NaN;
      return z;
    }
    const u = 1 - this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    const theta = 2 * Math.PI * this.next();
    this.spareNormal = r * Math.sin(theta);
    return r * Math.cos(theta);
  }

  /** An index drawn in proportion to `weights` (which need not sum to 1). */
  pick(weights: ArrayLike<number>): number {
    let total = 0;
    for (let i = 0; i < weights.length; i++) total += weights[i]!;
    let u = this.next() * total;
    let last = 0;
    for (let i = 0; i < weights.length; i++) {
      if (weights[i]! <= 0) continue;
      last = i;
      u -= weights[i]!;
      if (u < 0) return i;
    }
    // Float rounding can leave u a hair above 0: the last possible index, never a zero-weight one.
    return last;
  }
}

// The few protobuf wire-format pieces the kubelet PodResources API needs (proto3: varints and length-delimited
// fields), so no .proto file or code generator has to ship with the daemon. Decoding is defensive: every length
// is checked against the buffer, and unknown fields are skipped.

export class ProtoReader {
  readonly #buf: Uint8Array;
  #pos: number;
  readonly #end: number;

  constructor(buf: Uint8Array, start = 0, end = buf.length) {
    this.#buf = buf;
    this.#pos = start;
    this.#end = end;
  }

  get done(): boolean {
    return this.#pos >= this.#end;
  }

  varint(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (this.#pos >= this.#end) throw new RangeError('protobuf: truncated varint');
      const b = this.#buf[this.#pos++]!;
      if (shift < 49) result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
      if (shift > 63) throw new RangeError('protobuf: varint too long');
    }
  }

  /** Next field: its number and wire type. */
  tag(): { field: number; wire: number } {
    const t = this.varint();
    return { field: Math.floor(t / 8), wire: t & 7 };
  }

  bytes(): ProtoReader {
    const len = this.varint();
    if (len > this.#end - this.#pos) throw new RangeError('protobuf: length past the end');
    const sub = new ProtoReader(this.#buf, this.#pos, this.#pos + len);
    this.#pos += len;
    return sub;
  }

  string(): string {
    const len = this.varint();
    if (len > this.#end - this.#pos) throw new RangeError('protobuf: length past the end');
    const s = Buffer.from(this.#buf.buffer, this.#buf.byteOffset + this.#pos, len).toString('utf8');
    this.#pos += len;
    return s;
  }

  skipField(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.#advance(8);
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.#advance(4);
    else throw new RangeError(`protobuf: unsupported wire type ${wire}`);
  }

  #advance(n: number): void {
    if (n > this.#end - this.#pos) throw new RangeError('protobuf: truncated field');
    this.#pos += n;
  }
}

/** Encoder for tests (fake kubelet) and for requests. */
export class ProtoWriter {
  readonly #parts: Buffer[] = [];

  #varint(n: number): void {
    const out: number[] = [];
    let v = n;
    while (v > 0x7f) {
      out.push((v % 128) | 0x80);
      v = Math.floor(v / 128);
    }
    out.push(v);
    this.#parts.push(Buffer.from(out));
  }

  string(field: number, value: string): this {
    const b = Buffer.from(value, 'utf8');
    this.#varint(field * 8 + 2);
    this.#varint(b.length);
    this.#parts.push(b);
    return this;
  }

  message(field: number, inner: ProtoWriter): this {
    const b = inner.finish();
    this.#varint(field * 8 + 2);
    this.#varint(b.length);
    this.#parts.push(b);
    return this;
  }

  finish(): Buffer {
    return Buffer.concat(this.#parts);
  }
}

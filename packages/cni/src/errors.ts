// The error catalogue mechanism shared by every package: a table of stable ids -> CNI code + message template,
// and the one error class that carries a CNI error across layers and onto the wire.

/** Error codes the CNI spec reserves (0-99), plus libcni's 999. Plugin/meta-plugin codes start at 100. */
export const CniCode = {
  IncompatibleVersion: 1,
  UnsupportedField: 2,
  UnknownContainer: 3,
  InvalidEnvironment: 4,
  IoFailure: 5,
  DecodeFailure: 6,
  InvalidConfig: 7,
  InvalidNetns: 8,
  TryAgainLater: 11,
  PluginNotAvailable: 50,
  PluginNotAvailableLimited: 51,
  Internal: 999,
} as const;

export interface ErrorSpec {
  /** The CNI error code this error is reported with. */
  readonly code: number;
  /** Message template; `{name}` placeholders are filled from the params given at the throw site. */
  readonly msg: string;
}

export type Catalogue = Readonly<Record<string, ErrorSpec>>;

/** Identity function that keeps the literal types of a package's catalogue (`as const` without the noise). */
export function defineCatalogue<const T extends Catalogue>(table: T): T {
  return table;
}

type Params = Readonly<Record<string, string | number | boolean | undefined>>;

function render(template: string, params: Params): string {
  return template.replace(/\{(\w+)\}/g, (whole, key: string) => {
    const v = params[key];
    return v === undefined ? whole : String(v);
  });
}

/** The JSON a plugin prints on failure (CNI spec "Error" section). */
export interface CniErrorJson {
  cniVersion?: string;
  code: number;
  msg: string;
  details?: string;
}

export class CniError extends Error {
  override readonly name = 'CniError';
  readonly code: number;
  readonly msg: string;
  readonly details: string | undefined;
  /** Catalogue id (e.g. `ERR_PLUGIN_TYPE_INVALID`) when thrown from a catalogue entry; absent for foreign errors. */
  readonly id: string | undefined;

  constructor(code: number, msg: string, details?: string, options?: { id?: string; cause?: unknown }) {
    super(
      details ? `${msg}: ${details}` : msg,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    this.code = code;
    this.msg = msg;
    this.details = details;
    this.id = options?.id;
  }

  /** Builds an error from a catalogue entry. */
  static of<C extends Catalogue>(
    catalogue: C,
    id: keyof C & string,
    params: Params = {},
    details?: string,
    cause?: unknown,
  ): CniError {
    const spec = catalogue[id];
    if (!spec) throw new TypeError(`unknown error id ${id}`);
    return new CniError(spec.code, render(spec.msg, params), details, { id, cause });
  }

  /** Wraps anything thrown into a CniError, keeping CniErrors as they are. */
  static wrap(err: unknown, code: number = CniCode.Internal): CniError {
    if (err instanceof CniError) return err;
    if (err instanceof Error) return new CniError(code, err.message, undefined, { cause: err });
    return new CniError(code, String(err));
  }

  toJSON(cniVersion?: string): CniErrorJson {
    // Key order follows the spec's example: cniVersion, code, msg, details.
    return {
      ...(cniVersion ? { cniVersion } : {}),
      code: this.code,
      msg: this.msg,
      ...(this.details ? { details: this.details } : {}),
    };
  }
}

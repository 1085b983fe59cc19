/**
 * The group keyring, in the manner of memberlist's: a list of secret keys, the first signs, all
 * verify, so a key is rotated without stopping the group (install the new key second everywhere,
 * then first everywhere, then remove the old one).
 *
 * Keys are base64 (32 random bytes from `-keygen`; 16 to 64 bytes accepted), one per line, from
 * a key file (`keyFile`) that no other user may read, or from the environment variable
 * MCASTBOTS_KEYS (keys separated by commas or white space) when no key file is named.
 * Pure apart from the key file's reading; a key never appears in an error, a log or JSON.
 */
import { createHash, randomBytes } from "node:crypto";
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import { inspect } from "node:util";
import { t } from "../i18n.js";

/** The environment variable holding the keys when no key file is named. */
export const KEY_ENV = "MCASTBOTS_KEYS";
/** Bytes of a key made by -keygen (the HMAC-SHA256 block is 64, its output 32). */
export const KEYGEN_BYTES = 32;
export const MIN_KEY_BYTES = 16;
export const MAX_KEY_BYTES = 64;
/** Most keys in a ring (each received datagram may be checked against all of them). */
export const MAX_KEYS = 8;
/** Largest key file read. */
export const MAX_KEY_FILE_BYTES = 16 * 1024;

export type KeyProblem =
  | "missing"
  | "unreadable"
  | "not-a-file"
  | "too-large"
  | "readable-by-others"
  | "empty"
  | "bad-base64"
  | "too-short"
  | "too-long"
  | "too-many";

/** A key file or key variable that cannot be used. `where` names the file or the variable;
 *  `line` the offending line (1-based) — never the key itself. */
export class KeyError extends Error {
  constructor(
    readonly problem: KeyProblem,
    readonly where: string,
    readonly line?: number,
    readonly mode?: number,
  ) {
    super(`${where}${line === undefined ? "" : `:${line}`}: ${problem}`);
    this.name = "KeyError";
  }
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

function decodeKey(text: string, where: string, line: number): Buffer {
  let key: Buffer;
  if (BASE64.test(text)) key = Buffer.from(text, "base64");
  else if (BASE64URL.test(text) && text.length % 4 !== 1) key = Buffer.from(text, "base64url");
  else throw new KeyError("bad-base64", where, line);
  if (key.length < MIN_KEY_BYTES) throw new KeyError("too-short", where, line);
  if (key.length > MAX_KEY_BYTES) throw new KeyError("too-long", where, line);
  return key;
}

export class Keyring {
  readonly #keys: readonly Buffer[];

  private constructor(keys: readonly Buffer[]) {
    this.#keys = keys;
  }

  /** Keys from text: one per line (or separated by commas / white space), `#` starts a comment. */
  static parse(text: string, where: string): Keyring {
    const keys: Buffer[] = [];
    const lines = text.split(/\r?\n/);
    lines.forEach((raw, i) => {
      const content = raw.replace(/#.*$/, "");
      for (const token of content.split(/[\s,]+/)) {
        if (token === "") continue;
        const key = decodeKey(token, where, i + 1);
        if (keys.length >= MAX_KEYS) throw new KeyError("too-many", where, i + 1);
        if (!keys.some((k) => k.equals(key))) keys.push(key);
      }
    });
    if (keys.length === 0) throw new KeyError("empty", where);
    return new Keyring(keys);
  }

  /** Keys from raw bytes (tests, tools). */
  static of(...keys: Buffer[]): Keyring {
    if (keys.length === 0) throw new KeyError("empty", "keys");
    return new Keyring(keys.map((k) => Buffer.from(k)));
  }

  /** The key that signs what we send. */
  get signing(): Buffer {
    return this.#keys[0] as Buffer;
  }

  /** Every key a received datagram may verify with, the signing key first. */
  get verifying(): readonly Buffer[] {
    return this.#keys;
  }

  get size(): number {
    return this.#keys.length;
  }

  /** A short public name for each key (8 hex digits of a hash): safe to log and compare. */
  fingerprints(): string[] {
    return this.#keys.map((k) => fingerprint(k));
  }

  toJSON(): { keys: number; fingerprints: string[] } {
    return { keys: this.size, fingerprints: this.fingerprints() };
  }

  toString(): string {
    return `Keyring(${this.fingerprints().join(", ")})`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

export function fingerprint(key: Buffer): string {
  return createHash("sha256").update("mcastbots key id\n").update(key).digest("hex").slice(0, 8);
}

/** A fresh random key, as `-keygen` prints it. */
export function generateKey(bytes: number = KEYGEN_BYTES): string {
  return randomBytes(bytes).toString("base64");
}

/**
 * Read a key file. Refused: a file group or other users may read or write (as ssh refuses
 * such a private key: run `chmod 600 FILE`), anything but a regular file, more than 16 KiB.
 */
export function readKeyFile(path: string): Keyring {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (e) {
    throw new KeyError((e as NodeJS.ErrnoException).code === "ENOENT" ? "missing" : "unreadable", path);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new KeyError("not-a-file", path);
    if (process.platform !== "win32" && (st.mode & 0o077) !== 0) {
      throw new KeyError("readable-by-others", path, undefined, st.mode & 0o777);
    }
    if (st.size > MAX_KEY_FILE_BYTES) throw new KeyError("too-large", path);
    const buf = Buffer.alloc(MAX_KEY_FILE_BYTES + 1);
    let n = 0;
    for (;;) {
      const r = readSync(fd, buf, n, buf.length - n, null);
      if (r === 0) break;
      n += r;
      if (n > MAX_KEY_FILE_BYTES) throw new KeyError("too-large", path);
    }
    const ring = Keyring.parse(buf.subarray(0, n).toString("utf8"), path);
    buf.fill(0);
    return ring;
  } catch (e) {
    if (e instanceof KeyError) throw e;
    throw new KeyError("unreadable", path);
  } finally {
    closeSync(fd);
  }
}

/**
 * The keyring a program runs with: the key file if one is named, else MCASTBOTS_KEYS, else none
 * (the group is open, as the original's). Throws KeyError.
 */
export function loadKeyring(keyFile: string, env: NodeJS.ProcessEnv): Keyring | undefined {
  if (keyFile !== "") return readKeyFile(keyFile);
  const fromEnv = env[KEY_ENV];
  if (fromEnv !== undefined && fromEnv.trim() !== "") return Keyring.parse(fromEnv, KEY_ENV);
  return undefined;
}

/** A KeyError as one translated line (the programs print it and exit 2). */
export function keyErrorText(e: KeyError): string {
  const v = { where: e.where, line: e.line ?? 0 };
  switch (e.problem) {
    case "missing":
      return t("key file {{where}} does not exist", v);
    case "unreadable":
      return t("cannot read key file {{where}}", v);
    case "not-a-file":
      return t("key file {{where}} is not a regular file", v);
    case "too-large":
      return t("key file {{where}} is larger than {{max}} bytes", { ...v, max: MAX_KEY_FILE_BYTES });
    case "readable-by-others":
      return t("key file {{where}} can be read or written by other users (mode {{mode}}): run chmod 600 {{where}}", {
        ...v,
        mode: (e.mode ?? 0).toString(8).padStart(3, "0"),
      });
    case "empty":
      return t("{{where}} holds no key (make one with -keygen)", v);
    case "bad-base64":
      return t("{{where}} line {{line}}: not a base64 key", v);
    case "too-short":
      return t("{{where}} line {{line}}: a key must have at least {{min}} bytes (make one with -keygen)", {
        ...v,
        min: MIN_KEY_BYTES,
      });
    case "too-long":
      return t("{{where}} line {{line}}: a key may have at most {{max}} bytes", { ...v, max: MAX_KEY_BYTES });
    case "too-many":
      return t("{{where}}: more than {{max}} keys", { ...v, max: MAX_KEYS });
  }
}

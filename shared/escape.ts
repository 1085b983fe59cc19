/**
 * Making text from the network safe to print. Datagrams and uploads are chosen by whoever sends
 * them: printed raw, an ESC sequence can clear the screen, set the window title or recolour what
 * follows, a CR can overwrite the line with a fake "- ID left (killed)", and bidi overrides can
 * show text in another order than it was sent. Everything such text passes through before a
 * terminal, a log line or a web page goes through printable().
 *
 * printable() escapes, visibly and reversibly:
 * - C0 controls U+0000–U+001F (including TAB, CR, LF, ESC): `\t \n \r \x1b`...; DEL: `\x7f`;
 * - C1 controls U+0080–U+009F (CSI is U+009B): `\x9b`;
 * - bidi controls (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069) and the line and
 *   paragraph separators U+2028, U+2029: `\u202e`;
 * - lone UTF-16 surrogates (not produced by our decoder, but a string may come from elsewhere):
 *   `\ud800`;
 * - the backslash itself: `\\`, so that an escaped text can always be told from a text that
 *   contained the characters `\x1b`.
 * Everything else (letters of every script, emoji, U+FFFD for bytes that were not UTF-8) is kept.
 */

/** Characters that must not reach a terminal raw; the `u` flag makes the surrogate range match
 *  lone surrogates only. */
const DANGEROUS = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff]/u;
/** What printable() escapes: those, and the backslash (so the escaping can be undone). */
const UNSAFE = new RegExp(`[\\\\${DANGEROUS.source.slice(1)}`, "u");
const UNSAFE_G = new RegExp(UNSAFE.source, "gu");

const SHORT: Readonly<Record<string, string>> = {
  "\\": "\\\\",
  "\t": "\\t",
  "\n": "\\n",
  "\r": "\\r",
};

function escapeOne(ch: string): string {
  const short = SHORT[ch];
  if (short !== undefined) return short;
  const code = ch.charCodeAt(0);
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
}

/** Whether printing s raw could move the cursor, change the terminal or reorder text (a
 *  printable() result never does, so a second printable() is never needed). */
export function needsEscape(s: string): boolean {
  return DANGEROUS.test(s);
}

/** s with every control, bidi and lone-surrogate character (and the backslash) escaped visibly. */
export function printable(s: string): string {
  return UNSAFE.test(s) ? s.replace(UNSAFE_G, escapeOne) : s;
}

/**
 * JSON text of a value that is safe on a terminal: JSON.stringify already escapes C0 controls;
 * DEL, C1 and bidi controls and the separators are written as \uXXXX too. It parses back to the
 * very same value.
 */
export function safeJson(value: unknown): string {
  const json = JSON.stringify(value) ?? "null";
  return json.replace(
    /[\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/g,
    (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

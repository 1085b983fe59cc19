/**
 * What a program does with the group-key settings at start-up, as a value (programs print it and
 * exit; library code never exits): `-keygen` prints a fresh key; otherwise the keyring comes from
 * keyFile, else MCASTBOTS_KEYS, else there is none; a bad key file is one line, exit status 2.
 */
import { N_, t } from "../i18n.js";
import { generateKey, KeyError, type Keyring, keyErrorText, loadKeyring } from "./keyring.js";

/** The flag both programs take. */
export const KEY_FLAGS: Record<string, string> = {
  keygen: N_("print a fresh random group key (base64) and exit"),
};

export type KeySetup =
  | { kind: "keygen"; out: string }
  | { kind: "error"; message: string }
  | { kind: "ok"; keyring: Keyring | undefined };

/** One line for logs: how many keys and the signing key's fingerprint (never a key). */
export function keyringLine(ring: Keyring): string {
  return t("Group key: {{count}} in the ring, signing with {{fingerprint}}", {
    count: ring.size,
    fingerprint: ring.fingerprints()[0],
  });
}

export function keySetup(
  flags: Record<string, boolean>,
  config: { keyFile: string },
  env: NodeJS.ProcessEnv,
): KeySetup {
  if (flags.keygen) return { kind: "keygen", out: `${generateKey()}\n` };
  try {
    return { kind: "ok", keyring: loadKeyring(config.keyFile, env) };
  } catch (e) {
    if (e instanceof KeyError) return { kind: "error", message: keyErrorText(e) };
    throw e;
  }
}

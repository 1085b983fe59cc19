/** The supervisor's configuration: the keys it shares with the bot, its own keys, and its flags. */
import {
  CHANNEL_KEY_NAMES,
  type ConfigOf,
  KEYS,
  type KeyTable,
  MAX_TIMER_SECONDS,
  pickKeys,
} from "../shared/config.js";
import { N_ } from "../shared/i18n.js";
import { KEY_FLAGS } from "../shared/keys/setup.js";
import { supervisorId } from "../shared/protocol.js";
import type { Rng } from "../shared/random.js";

/** The supervisor's own keys (beyond the ones it shares with the bot). */
export const SUPERVISOR_OWN_KEYS = {
  supervisorId: {
    kind: "string",
    default: "",
    help: N_("our id on the group; empty means HUMAN- and 4 random hex digits"),
  },
  uploadDir: { kind: "string", default: "uploads", help: N_("directory uploads are saved in; empty means not saved") },
  maxUpload: {
    kind: "int",
    default: 16777216,
    min: 1,
    max: 1073741824,
    help: N_("largest upload kept, bytes; the rest is cut off with a warning"),
  },
  uploadTimeout: {
    kind: "duration",
    default: 30,
    min: 0,
    exclusiveMin: true,
    max: 86400,
    help: N_("an upload connection silent this long is closed, seconds"),
  },
  uploadTotal: {
    kind: "duration",
    default: 300,
    min: 0,
    exclusiveMin: true,
    max: 86400,
    help: N_("an upload connection still open after this long is closed, seconds"),
  },
  uploadConnections: {
    kind: "int",
    default: 1024,
    min: 1,
    max: 65535,
    help: N_("upload connections served at once (a quarter of them from one address)"),
  },
  maxUploadFiles: {
    kind: "int",
    default: 10000,
    min: 0,
    max: 1000000,
    help: N_("uploads saved in one run; later ones are shown but not saved"),
  },
  summaryRate: {
    kind: "int",
    default: 1000,
    min: 0,
    max: 100000000,
    help: N_("messages per second from which traffic is summed up on one line each second; 0 means never"),
  },
  eventRate: {
    kind: "int",
    default: 100,
    min: 0,
    max: 100000000,
    help: N_(
      "joins printed one by one each second; the rest are counted on one line, and so are their leaves; 0 means all",
    ),
  },
  uploadWait: {
    kind: "duration",
    default: 15,
    min: 0,
    max: MAX_TIMER_SECONDS,
    help: N_("how long after backoff an UPLD's upload may come; with piped input, the wait for it at the end, seconds"),
  },
  accessLog: { kind: "string", default: "", help: N_("file valid traffic is appended to; empty means off") },
  errorLog: { kind: "string", default: "", help: N_("file malformed datagrams are appended to; empty means off") },
  web: {
    kind: "string",
    default: "off",
    help: N_("serve the live web page: -web (port 8422), -web=PORT (0: any free port); off by default"),
  },
  webHost: {
    kind: "ipAddr",
    default: "127.0.0.1",
    help: N_("address the web page listens on (this machine only by default)"),
  },
} as const satisfies KeyTable;

/** Every key the supervisor reads: the group's (channel keys, heartbeat, backoff, results, filePort,
 *  lang) and its own. The bots' other keys are not its business (ignored in a shared dnabot.ini). */
export const SUPERVISOR_KEYS = {
  ...pickKeys(KEYS, ["backoff", "heartbeat", "results", "filePort", "lang", ...CHANNEL_KEY_NAMES]),
  ...SUPERVISOR_OWN_KEYS,
};

export type SupervisorConfig = ConfigOf<typeof SUPERVISOR_KEYS>;

export const SUPERVISOR_FLAGS: Record<string, string> = {
  // The supervisor is a foreground program: its log always goes to stderr (-fg changes nothing).
  fg: N_("accepted for compatibility: the supervisor always logs to stderr"),
  quiet: N_("print only events, uploads and errors"),
  ...KEY_FLAGS,
  hideUnverified: N_("with a key: do not show refused (unsigned, forged, replayed) datagrams; WHO still counts them"),
  json: N_("print one JSON object per line shown (traffic, events, replies, uploads, errors)"),
};

/** A fresh id for this run: HUMAN- and 4 random lower-case hex digits. */
export function randomSupervisorId(rng: Rng): string {
  return supervisorId(Math.floor(rng.next() * 0x10000));
}

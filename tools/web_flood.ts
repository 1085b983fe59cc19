/**
 * Many members for the web page without many processes: one socket on the loopback group sends a
 * BEAT for each of N invented bot ids (ours in Asimov, some Frankenstein, some the original's,
 * without tags), paced so the receivers' socket buffers keep up. For the browser tests and the
 * web page benchmark (tools/web_bench.ts); never for anything but a test group on 127.0.0.1.
 */
import { DEFAULT_SOURCE_RATE } from "../shared/channel.js";
import { encodeLine, formatBody, formatLine } from "../shared/codec.js";
import { BEAT, TAG, WILDCARD } from "../shared/protocol.js";
import { UdpTransport } from "../shared/udp_transport.js";

/** The id of invented member i: 8 hex digits, spread so that prefixes vary. */
export function floodId(i: number): string {
  return (Math.imul(i + 1, 2654435761) >>> 0).toString(16).toUpperCase().padStart(8, "0");
}

/** The BEAT line member i sends as its seq-th message. */
export function floodLine(i: number, seq: number): string {
  const tags = i % 5 === 4 ? [] : [`${TAG.state}=${i % 7 === 3 ? "frankenstein" : "asimov"}`];
  return formatLine(floodId(i), seq, formatBody(BEAT, WILDCARD, ["Beep", ...tags]));
}

export interface Flood {
  /** One BEAT from each of the n members (seq numbers go up by one each round), paced under the
   *  datagrams per second a receiver reads from one source (ROUND_RATE): faster, the receivers'
   *  read budget would drop the same last members of every round. */
  round(n: number): Promise<void>;
  /** A round spread evenly over `seconds` (n / seconds messages per second). */
  steady(n: number, seconds: number): Promise<void>;
  /** Send one raw line (an EXIT, a KILL...). */
  say(line: string): void;
  /** The sequence number of the last round (a member's next message takes the one after). */
  readonly seq: number;
  close(): Promise<void>;
}

/** Datagrams per second of a round: four fifths of the receivers' default read budget per source. */
export const ROUND_RATE = Math.floor(0.8 * DEFAULT_SOURCE_RATE);

export async function openFlood(port: number, group = "239.1.2.4"): Promise<Flood> {
  const transport = new UdpTransport({ group, port, iface: "127.0.0.1", ttl: 0, loopback: true });
  await transport.ready();
  let seq = 0;
  const steady = async (n: number, seconds: number): Promise<void> => {
    seq++;
    const start = Date.now();
    for (let i = 0; i < n; i++) {
      transport.send(encodeLine(floodLine(i, seq)));
      const due = start + ((i + 1) * seconds * 1000) / n;
      const wait = due - Date.now();
      if (wait >= 5) await new Promise((r) => setTimeout(r, wait));
    }
  };
  return {
    round: (n) => steady(n, n / ROUND_RATE),
    steady,
    say(line) {
      transport.send(encodeLine(line));
    },
    get seq() {
      return seq;
    },
    close: () => transport.close(),
  };
}

/**
 * Builds the channel stack a program runs on, from its config:
 *   UdpTransport (node:dgram multicast)
 *   → LossSimulator (only when lossRate, dupRate or reorderRate is above 0)
 *   → Channel (ids, sequence numbers, parsing)
 *   → ReliableChannel (NACK/RSND/SKIP/LAST; unless reliable=false)
 * Programs get a GroupChannel and never know which transport or wrappers are underneath.
 */
import { Channel, type GroupChannel } from "./channel.js";
import { type Clock, SystemClock } from "./clock.js";
import type { Config } from "./config.js";
import type { Logger } from "./log.js";
import { LossSimulator, lossSettingsFrom } from "./loss.js";
import { makeRng, type Rng, seededRng } from "./random.js";
import { ReliableChannel } from "./reliable/channel.js";
import type { Transport } from "./transport.js";
import { UdpTransport } from "./udp_transport.js";

/** What the stack needs besides the config; real ones by default. */
export interface StackDeps {
  clock?: Clock;
  /** Random source of the reliability layer's waits. */
  rng?: Rng;
  /** Random source of the loss simulator. */
  lossRng?: Rng;
  logger?: Logger;
}

// Distinct streams from one -seed, so the simulator's drops don't mirror the bot's choices.
const LOSS_SALT = 0x1055e5;
const RELIABLE_SALT = 0x4e41434b;
function rngFor(config: Config, salt: number): Rng {
  return config.seed === undefined ? makeRng() : seededRng((config.seed ^ salt) >>> 0);
}

export interface OpenedChannel {
  channel: GroupChannel;
  transport: Transport;
}

export function udpTransportFor(config: Config): UdpTransport {
  return new UdpTransport({
    group: config.chanAddr,
    port: config.chanPort,
    iface: config.chanIface,
    ttl: config.chanTTL,
    loopback: true,
  });
}

/** Wrap a transport in the channel stack the config asks for. */
export function channelOver(transport: Transport, config: Config, id: string, deps: StackDeps = {}): GroupChannel {
  const clock = deps.clock ?? new SystemClock();
  const loss = lossSettingsFrom(config);
  const under = loss
    ? new LossSimulator(transport, { ...loss, rng: deps.lossRng ?? rngFor(config, LOSS_SALT), clock })
    : transport;
  const channel = new Channel(under, { id, pktSize: config.PKT_SIZE });
  if (!config.reliable) return channel;
  return new ReliableChannel(channel, {
    clock,
    rng: deps.rng ?? rngFor(config, RELIABLE_SALT),
    nackWaitMs: config.nackWait * 1000,
    nackTries: config.nackTries,
    rsndWaitMs: config.rsndWait * 1000,
    holdCount: config.holdCount,
    holdTimeMs: config.holdTime * 1000,
    nackRate: config.nackRate,
    rsndRate: config.rsndRate,
    lingerMs: config.linger * 1000,
    logger: deps.logger,
  });
}

/** Open the group for a program. Resolves once the sockets are bound and the group joined;
 *  rejects with a TransportError (the caller prints it and exits 1). */
export async function openChannel(config: Config, id: string, deps: StackDeps = {}): Promise<OpenedChannel> {
  const transport = udpTransportFor(config);
  await transport.ready();
  return { channel: channelOver(transport, config, id, deps), transport };
}
